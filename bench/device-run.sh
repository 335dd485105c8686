#!/usr/bin/env bash
# The H100 run (device tool): devices, quick conformance on every tier, the bench, the tuning
# variants and the PyTorch ceiling, in one call. Usage (carry .gpu and dist):
#   source .gpu/prelude.sh && bash bench/device-run.sh [bench args...]
# Env: CONF=0 skips conformance, VARIANTS=1 adds `bench --variants`, CEILING=1 adds
# `bench --sgmat-ceiling` (the subgroup-matrix gemm loop stage by stage), TORCH=0 skips PyTorch;
# CONF_S / BENCH_S / VARIANTS_S are their time limits in seconds. The SM clock is sampled
# every 2 s into $OUT/clk.txt (the clock falls when the GPU idles: see bench/clock.ts).
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader
(while true; do echo "$(date +%s) $(nvidia-smi --query-gpu=clocks.sm,power.draw --format=csv,noheader)" >> $OUT/clk.txt; sleep 2; done) &
CLK=$!
timeout 60 $NODE dist/cli.js devices --toggles $T --json > $OUT/devices.json 2>&1; head -c 1500 $OUT/devices.json; echo
if [ "${CONF:-1}" = 1 ]; then
  timeout ${CONF_S:-200} $NODE dist/cli.js conformance --quick --backend webgpu --toggles $T --json $OUT/conformance.json > $OUT/conformance.txt 2>&1
  echo "conformance exit $?"; grep -E 'FAIL|passed' $OUT/conformance.txt | head -40
fi
timeout ${BENCH_S:-300} $NODE dist/cli.js bench --toggles $T --disable-toggles timestamp_quantization --json $OUT/bench.json "$@" > $OUT/bench.txt 2>$OUT/bench.err
echo "bench exit $?"; cat $OUT/bench.txt; tail -5 $OUT/bench.err
if [ "${VARIANTS:-0}" = 1 ]; then
  timeout ${VARIANTS_S:-200} $NODE dist/cli.js bench --variants --toggles $T --disable-toggles timestamp_quantization --json $OUT/variants.json > $OUT/variants.txt 2>/dev/null
  echo "variants exit $?"; cat $OUT/variants.txt
fi
if [ "${CEILING:-0}" = 1 ]; then
  timeout 120 $NODE dist/cli.js bench --sgmat-ceiling --toggles $T --disable-toggles timestamp_quantization --json $OUT/ceiling.json 2>/dev/null
  echo "ceiling exit $?"
fi
if [ "${TORCH:-1}" = 1 ]; then timeout 150 python3 bench/peers/torch_ceiling.py > $OUT/torch.json 2>$OUT/torch.err; echo "torch exit $?"; python3 -c "
import json; d=json.load(open('$OUT/torch.json')); print(d['device'], d['torch'])
for r in d['records']: print(f\"{r['op']:14} {r['dtype']:4} {r['shape']:42} {r['ms']:9.3f} ms {r['tflops']:8.1f} TFLOP/s {r['gbps']:7.0f} GB/s\")"; fi
kill $CLK 2>/dev/null
echo "SM clock samples (MHz: count):"; awk '{print $2}' $OUT/clk.txt | sort | uniq -c | sort -rn | head -5
