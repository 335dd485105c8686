#!/usr/bin/env bash
# Device call (run S19, the last of the session's budget: ~2.5 minutes): the one-split
# decode_attention plan `single` alone — its quick conformance on the subgroups tier, the 1B
# decode step with and without it, and the op at the step's 544 keys.
set -u
source bench/device_common.sh
PMETAL_DECODE_ATTENTION_VARIANT=single timeout 35 $NODE dist/cli.js conformance --quick --op decode_attention --backend webgpu --tier subgroups $D > $R/conformance-single.txt 2>&1
echo "conformance (single) exit $? (${SECONDS} s)"; tail -1 $R/conformance-single.txt
for v in PMETAL_NONE=1 PMETAL_DECODE_ATTENTION_VARIANT=single; do
  env $v timeout 40 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
room 120 "decode_attention op" && timeout 30 $NODE dist/cli.js bench --op decode_attention --shape b=1,t=1,len=544 --variants --variant "default,single,stage: no reduce" --dtype f16 --reps 10 $D > $R/decode-attn.txt 2>&1
echo "decode_attention exit $? (${SECONDS} s)"; grep -E "^decode_attention f16" $R/decode-attn.txt | head -8
