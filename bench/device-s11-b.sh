#!/usr/bin/env bash
# Device call (run S11 call B): whole models with the LoRA term inside the base product's K
# loop (PMETAL_LORA_GEMM_VARIANT=fused) — the 1B LoRA training step with it and with the
# three-gemm plan (the default), alternating processes; the 1B prefill; the 1B decode step
# with gemm_gemv_rows in 4 teams against the default; then the 8B LoRA
# step under the adaptive buffer pool (no PMETAL_POOL_MIB). Outputs straight into $OUT.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
for i in 1 2; do
  timeout 60 $NODE dist/cli.js bench --model llama-1b --phase train --max-grad-norm 1 $D --json $R/train-1b-composed-$i.json > $R/train-1b-composed-$i.txt 2>&1
  echo "1b composed $i exit $?"; grep -E "^train" $R/train-1b-composed-$i.txt | head -2
  PMETAL_LORA_GEMM_VARIANT=fused timeout 60 $NODE dist/cli.js bench --model llama-1b --phase train,prefill --max-grad-norm 1 $D --json $R/train-1b-fused-$i.json > $R/train-1b-fused-$i.txt 2>&1
  echo "1b fused $i exit $?"; grep -E "^(train|prefill)" $R/train-1b-fused-$i.txt | head -3
done
for v in rows128 teams4; do
  PMETAL_GEMV_VARIANT=$v timeout 45 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --copy-mib 256 $D --json $R/decode-1b-$v.json > $R/decode-1b-$v.txt 2>&1
  echo "1b decode $v exit $?"; grep -E "^decode" $R/decode-1b-$v.txt | head -3
done
timeout 170 $NODE dist/cli.js bench --model llama-8b --phase train --max-grad-norm 1 $D --json $R/train-8b.json > $R/train-8b.txt 2>&1
echo "8b train exit $?"; grep -E "^train" $R/train-8b.txt | head -4; tail -3 $R/train-8b.txt
