#!/usr/bin/env bash
# One H100 call for the runtime/gemm work (device tool; carry .gpu and dist):
#   source .gpu/prelude.sh && bash bench/device-gemm.sh
# Quick conformance on every webgpu tier, then the gemm bench shapes, its tuning variants,
# the subgroup-matrix ceiling, the host cost of small ops and PyTorch's gemm at the same
# shapes — everything under $OUT as JSON next to the printed tables.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
B="--toggles $T --disable-toggles timestamp_quantization"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader
if [ "${CONF:-1}" = 1 ]; then
  timeout ${CONF_S:-240} $NODE dist/cli.js conformance --quick --backend webgpu --toggles $T --json $OUT/conformance.json > $OUT/conformance.txt 2>&1
  echo "conformance exit $?"; grep -E 'FAIL|passed' $OUT/conformance.txt | head -20
fi
timeout ${HOST_S:-90} $NODE dist/cli.js bench --host $B --json $OUT/host.json 2>/dev/null; echo "host exit $?"
timeout ${BENCH_S:-300} $NODE dist/cli.js bench --op gemm ${GEMM_ARGS:-} $B --reps 10 --json $OUT/gemm.json > $OUT/gemm.txt 2>$OUT/gemm.err
echo "gemm exit $?"; cat $OUT/gemm.txt; tail -3 $OUT/gemm.err
if [ "${VARIANTS:-1}" = 1 ]; then
  timeout ${VARIANTS_S:-100} $NODE dist/cli.js bench --variants --op gemm --dtype f16 --shape m=4096,n=4096,k=4096 $B --json $OUT/variants.json > $OUT/variants.txt 2>/dev/null
  echo "variants exit $?"; cat $OUT/variants.txt
  timeout ${VARIANTS_S:-100} $NODE dist/cli.js bench --variants --op gemm --shape ,transB --dtype f16,f32 $B --json $OUT/variants_gemv.json > $OUT/variants_gemv.txt 2>/dev/null
  echo "variants (gemv) exit $?"; grep -v sgmat $OUT/variants_gemv.txt
fi
if [ "${CEILING:-1}" = 1 ]; then
  timeout 90 $NODE dist/cli.js bench --sgmat-ceiling $B --json $OUT/ceiling.json 2>/dev/null; echo "ceiling exit $?"
fi
if [ "${TORCH:-1}" = 1 ]; then
  timeout 200 python3 bench/peers/torch_ceiling.py gemm > $OUT/torch.json 2>$OUT/torch.err; echo "torch exit $?"
  python3 -c "
import json; d=json.load(open('$OUT/torch.json')); print(d['device'], d['torch'])
for r in d['records']: print(f\"{r['op']:6} {r['dtype']:4} {r['shape']:32} {r['ms']:9.3f} ms {r['tflops']:7.1f} TFLOP/s {r['gbps']:6.0f} GB/s\")"
fi
