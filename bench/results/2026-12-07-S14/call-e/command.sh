#!/usr/bin/env bash
# Device call (run S14 call E): the training ops PyTorch's rows of call B stand beside that had
# no H100 time of their own this session — dw_gemm_accum, embedding_backward, fused_adamw_step.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
timeout 100 $NODE dist/cli.js bench --op dw_gemm_accum,embedding_backward --dtype f16 --reps 10 $D --json $OUT/train-ops.json > $OUT/train-ops.txt 2>&1
echo "exit $? (${SECONDS} s)"; grep -E "^(dw_gemm_accum|embedding_backward) +webgpu|copy kernel" $OUT/train-ops.txt
timeout 60 $NODE dist/cli.js bench --op fused_adamw_step --shape llama3.2-1b --reps 10 $D --json $OUT/adamw.json > $OUT/adamw.txt 2>&1
echo "exit $? (${SECONDS} s)"; grep -E "^fused_adamw_step +webgpu" $OUT/adamw.txt
