#!/usr/bin/env bash
# Device call (run S17 call D), with two decode steps in flight (the new default): where the 1B
# decode step's time goes — one step with each dispatch timed (--profile); the step with every
# dispatch cut to its first workgroup (wrong tokens: the launches' floor); decode attention's
# `latency` plan; the cache write as its own dispatch; B = 1 and 16 under both pipelined loops;
# quantized_gemm's M = 8 GEMV variants (issue 14's f32 MatMulNBits row).
set -u
source bench/device_common.sh
timeout 60 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 --profile $D > $R/decode-profile.txt 2>&1
echo "== profile exit $? (${SECONDS} s)"; grep -vE "^\s*$" $R/decode-profile.txt | head -40
timeout 60 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined2,pipelined $D > $R/decode-loops.txt 2>&1
echo "== loops exit $? (${SECONDS} s)"; grep -E "^decode " $R/decode-loops.txt | head -4
for v in PMETAL_BENCH_ONE_WORKGROUP=1 PMETAL_DECODE_ATTENTION_VARIANT=latency PMETAL_NORM_QKV_CACHE=0 PMETAL_DECODE_PIN=u=2,splits=17 PMETAL_NONE=1; do
  room 330 "decode $v" || break
  env $v timeout 40 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
if room 420 "qgemv M=8"; then
  timeout 60 $NODE dist/cli.js bench --op quantized_gemm --variants --variant "default,wide" --tier subgroups --dtype f32,f16 --shape m=8,n=14336 --reps 10 $D > $R/qgemv-m8.txt 2>&1
  echo "qgemv m8 exit $? (${SECONDS} s)"; grep -E "^quantized_gemm" $R/qgemv-m8.txt | head -12
fi
