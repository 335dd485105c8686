#!/usr/bin/env bash
# Device call: the 1B model bench's decode and train, with Dawn's default validation and with
# the `skip_validation` toggle (allow_unsafe_apis), back to back — how much of the host's time
# per step is Dawn's command validation. Output: $OUT/hostcost-{default,skipval}.{txt,json}.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
for v in default skipval; do
  t=$T; [ $v = skipval ] && t=$T,skip_validation
  timeout ${HC_T:-100} $NODE dist/cli.js bench --model llama-1b --phase decode,train --batch 1 --steps 24 --train-steps 2 --copy-mib 0 --toggles $t --disable-toggles timestamp_quantization --json $OUT/hostcost-$v.json > $OUT/hostcost-$v.txt 2>&1
  echo "hostcost $v exit $?"; grep -E "^(decode|train) " $OUT/hostcost-$v.txt
done
