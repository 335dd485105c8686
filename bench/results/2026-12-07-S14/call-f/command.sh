#!/usr/bin/env bash
# Device call (run S14 call F): MatMulNBits against quantized_gemm at M = 8, 14336×4096, group
# 32 — the one decode row under 2× in call C (f32 x, 1.90× with qgemv_sg) — now that M > 4 runs
# qgemv_rows by default; then the 4-bit LM head and M = 8 under the new default for the record.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
timeout 120 $NODE dist/cli.js bench --peers --op quantized_gemm --shape "m=8,n=14336,k=4096,gs=32" --toggles $T --json $OUT/peers-qgemm-m8.json > $OUT/peers-qgemm-m8.txt 2> $OUT/peers-qgemm-m8.err
echo "peers exit $? (${SECONDS} s)"; grep -E "^(op|quantized_gemm)" $OUT/peers-qgemm-m8.txt; tail -2 $OUT/peers-qgemm-m8.err
for sh in m=1,n=128256 m=8,n=14336; do
  timeout 45 $NODE dist/cli.js bench --op quantized_gemm --tier subgroup-matrix,subgroups --dtype f16,f32 --shape $sh --reps 10 $D >> $OUT/qgemv-default.txt 2>&1
  echo "bench $sh exit $? (${SECONDS} s)"
done
grep -E "^quantized_gemm +webgpu|copy kernel" $OUT/qgemv-default.txt
