#!/usr/bin/env bash
# Device call (run S10 call B): decode_attention's unrolled loops against rolled ones at
# context 8192; then: is the 1B decode step's slowdown with the model-level fusions
# (fused_norm_qkv, fused_mlp's norm prologue) real, or the first process of a call? Four
# processes alternate unfused / fused, each timing the pipelined and the serial loop (serial:
# GPU + read-back + recording, no overlap). Then the 8B LoRA step under the adaptive buffer
# pool (no PMETAL_POOL_MIB). Outputs straight into $OUT.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
# decode_attention with its loops unrolled (the #for rewrite) against rolled, at issue 11's shapes.
timeout 200 $NODE dist/cli.js bench --op decode_attention --variants --variant default,deep,balanced,rolled,rb=4,rb=2 --dtype f16 --shape len=8192 --reps 10 $D --json $R/decode-8k.json > $R/decode-8k.txt 2>&1
echo "decode exit $?"; grep -E "^decode_attention " $R/decode-8k.txt | head -60
for i in 1 2; do
  PMETAL_NORM_QKV=0 PMETAL_MLP_NORM=0 timeout 45 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined,serial --copy-mib 256 $D > $R/unfused-$i.txt 2>&1
  echo "unfused $i exit $?"; grep -E "^decode  " $R/unfused-$i.txt | head -4
  timeout 45 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined,serial --copy-mib 256 $D > $R/fused-$i.txt 2>&1
  echo "fused $i exit $?"; grep -E "^decode  " $R/fused-$i.txt | head -4
done
timeout 150 $NODE dist/cli.js bench --model llama-8b --phase train --max-grad-norm 1 $D > $R/train-8b.txt 2>&1
echo "8b train exit $?"; grep -E "^train" $R/train-8b.txt | head -4
