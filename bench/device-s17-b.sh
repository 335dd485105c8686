#!/usr/bin/env bash
# Device call (run S17 call B), with flash attention's rotated S columns on (PMETAL_FA_SGMAT_SWIZZLE=1,
# faster in call A): the backward's variants; where the 1B and 8B prefill's time goes
# (--profile); PyTorch's 8B prefill in the same call for the ratio.
set -u
source bench/device_common.sh
export PMETAL_FA_SGMAT_SWIZZLE=1
timeout 100 $NODE dist/cli.js bench --op flash_attention_backward --variants --variant "default,SWIZZLE,BT=" --tier subgroup-matrix --dtype f16 --reps 5 $D > $R/fa-bwd.txt 2>&1
echo "fa bwd exit $? (${SECONDS} s)"; grep -E "^flash_attention_backward f16" $R/fa-bwd.txt | head -20
if room 300 "1b profile"; then
  timeout 90 $NODE dist/cli.js bench --model llama-1b --phase prefill --profile $D > $R/1b-profile.txt 2>&1
  echo "1b profile exit $? (${SECONDS} s)"; grep -vE "^\s*$" $R/1b-profile.txt | head -40
fi
if room 330 "8b profile"; then
  timeout 120 $NODE dist/cli.js bench --model llama-8b --phase prefill --profile $D > $R/8b-profile.txt 2>&1
  echo "8b profile exit $? (${SECONDS} s)"; grep -vE "^\s*$" $R/8b-profile.txt | head -40
fi
pt torch-8b 150 --model llama-8b --phase prefill
