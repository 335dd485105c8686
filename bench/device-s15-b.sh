#!/usr/bin/env bash
# Device call (run S15 call B): where the 1B f16 decode step's time goes, by ceilings of the
# whole loop (bench-only switches; the tokens are wrong under a STAGE, the step's work is not):
# the step as is; every dispatch cut to its first workgroup (the launches' own floor); without
# decode attention's reduce dispatch (STAGE 3); with the stream kernel
# returning at once (STAGE 1, attention ≈ two empty launches); attention plans pinned to fewer
# keys a workgroup and more in flight (PMETAL_DECODE_PIN, correct results), the register
# prefetch, the short-split variant; and the f16 8B step for the same roofline.
set -u
source bench/device_common.sh
n=0
for v in PMETAL_NONE=1 PMETAL_BENCH_ONE_WORKGROUP=1 PMETAL_BENCH_DECODE_STAGE=3 PMETAL_BENCH_DECODE_STAGE=1 PMETAL_DECODE_PIN=u=4,splits=9 PMETAL_DECODE_PIN=u=2,splits=17 PMETAL_DECODE_PIN=u=4,splits=17 PMETAL_DECODE_PREFETCH=1 PMETAL_DECODE_ATTENTION_VARIANT=short; do
  room 480 "decode $v" || break
  n=$((n + 1))
  env $v timeout 60 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-$n.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 |^copy kernel" $R/decode-$n.txt
done
if room 440 "8b decode"; then
  timeout 120 $NODE dist/cli.js bench --model llama-8b --phase decode --batch 1 $D > $R/decode-8b.txt 2>&1
  echo "== 8b exit $? (${SECONDS} s)"; grep -E "^decode +1 |^copy kernel" $R/decode-8b.txt
fi
