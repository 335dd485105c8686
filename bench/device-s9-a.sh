#!/usr/bin/env bash
# Device call (run S9 call A, H100): decode attention's split plans at the model bench's own
# decode shape (544 keys; the 1B's D = 64 at B = 1 and 16, the 8B's D = 128), the 4-bit decode
# GEMV's variants, the sampler's; then the 1B model: a decode step (deep default, clock warmed)
# with its profile, and the LoRA step clipped on the GPU (--max-grad-norm 1). Output in
# $OUT/results.tgz.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=/tmp/res; mkdir -p $R
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 90 $NODE dist/cli.js bench --op decode_attention --variants --dtype f16 --shape len=544 --reps 10 $D --json $R/decode-variants.json > $R/decode-variants.txt 2>&1
echo "decode_attention exit $?"; grep -E "^decode_attention " $R/decode-variants.txt | head -30
timeout 90 $NODE dist/cli.js bench --op quantized_gemm --variants --dtype f16 --shape m=1, --reps 10 $D --json $R/qgemv-variants.json > $R/qgemv-variants.txt 2>&1
echo "qgemv exit $?"; grep -E "^quantized_gemm " $R/qgemv-variants.txt | head -30
timeout 150 $NODE dist/cli.js bench --model llama-1b --phase decode,train --batch 1 --decode-loop pipelined --max-grad-norm 1 --profile --copy-mib 256 $D --json $R/model-1b.json > $R/model-1b.txt 2>&1
echo "1b exit $?"; grep -v Warning $R/model-1b.txt | head -60
tar -C $R -czf $OUT/results.tgz .
