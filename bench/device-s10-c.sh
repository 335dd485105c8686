#!/usr/bin/env bash
# Device call (run S10 call C): issue 12's bandwidth rows — fused_adamw_step, embedding_backward
# and the distillation losses against the copy kernel (the "of copy" column), every dtype.
# Outputs straight into $OUT.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
timeout 280 $NODE dist/cli.js bench --op fused_adamw_step,embedding_backward,fused_distill_loss,fused_distill_loss_backward --reps 10 $D --json $R/train-bw.json > $R/train-bw.txt 2>&1
echo "train-bw exit $?"; grep -vE "^(fused_|embedding)[a-z_]* [a-z0-9]+ .*: " $R/train-bw.txt | head -60
