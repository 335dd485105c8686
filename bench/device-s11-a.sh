#!/usr/bin/env bash
# Device call (run S11 call A): what S10 prepared and never ran — issue 12's bandwidth rows
# (fused_adamw_step, embedding_backward, the distillation losses against the copy kernel), the
# 8B LoRA step under the adaptive buffer pool (no PMETAL_POOL_MIB), and issue 14's 4-bit decode
# GEMV as a fraction of copy. Outputs straight into $OUT.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
timeout 220 $NODE dist/cli.js bench --op fused_adamw_step,embedding_backward,fused_distill_loss,fused_distill_loss_backward --reps 10 $D --json $R/train-bw.json > $R/train-bw.txt 2>&1
echo "train-bw exit $?"; grep -vE "^(fused_|embedding)[a-z_]* [a-z0-9]+ .*: " $R/train-bw.txt | head -60
timeout 40 $NODE dist/cli.js bench --op quantized_gemm --dtype f16 --shape m=1, --reps 10 $D --json $R/qgemv.json > $R/qgemv.txt 2>&1
echo "qgemv exit $?"; grep -E "^quantized_gemm " $R/qgemv.txt | head -20
timeout 170 $NODE dist/cli.js bench --model llama-8b --phase train --max-grad-norm 1 $D --json $R/train-8b.json > $R/train-8b.txt 2>&1
echo "8b train exit $?"; grep -E "^train" $R/train-8b.txt | head -4; tail -5 $R/train-8b.txt
