#!/usr/bin/env bash
# The H100 run (device tool): devices, quick conformance on every tier, the bench, and the
# PyTorch ceiling, all in one call. Usage (carry .gpu and dist):
#   source .gpu/prelude.sh && bash bench/device-run.sh [bench args...]
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader
timeout 60 $NODE dist/cli.js devices --toggles $T --json > $OUT/devices.json 2>&1; head -c 1500 $OUT/devices.json; echo
[ "${CONF:-1}" = 1 ] && timeout ${CONF_S:-200} $NODE dist/cli.js conformance --quick --backend webgpu --toggles $T --json $OUT/conformance.json --html $OUT/conformance.html > $OUT/conformance.txt 2>&1
echo "conformance exit $?"; grep -E 'FAIL|passed' $OUT/conformance.txt | head -40
timeout ${BENCH_S:-300} $NODE dist/cli.js bench --toggles $T --disable-toggles timestamp_quantization --json $OUT/bench.json "$@" > $OUT/bench.txt 2>$OUT/bench.err
echo "bench exit $?"; cat $OUT/bench.txt; tail -5 $OUT/bench.err
if [ "${TORCH:-1}" = 1 ]; then timeout 150 python3 bench/peers/torch_ceiling.py > $OUT/torch.json 2>$OUT/torch.err; echo "torch exit $?"; python3 -c "
import json; d=json.load(open('$OUT/torch.json')); print(d['device'], d['torch'])
for r in d['records']: print(f\"{r['op']:14} {r['dtype']:4} {r['shape']:42} {r['ms']:9.3f} ms {r['tflops']:8.1f} TFLOP/s {r['gbps']:7.0f} GB/s\")"; fi
