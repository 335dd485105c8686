#!/usr/bin/env bash
# Device call (run S17 call E): the decode phase now runs one whole loop untimed before the timed
# one (calls C and D: a process's first loop ran at 3.1–6.0 ms a 1B step, the later ones at
# 1.69–1.71). The SM clock logged every 100 ms through the call (clocks.txt); three processes
# each timing both pipelined loops at B = 1 and 16; then, warmed the same way, the step with
# every dispatch cut to its first workgroup (the launches' floor, wrong tokens), decode
# attention's `latency` plan and the cache write as its own dispatch.
set -u
source bench/device_common.sh
nvidia-smi --query-gpu=timestamp,clocks.sm,utilization.gpu --format=csv,noheader -lms 100 > $R/clocks.txt 2>&1 &
smi=$!
for n in 1 2 3; do
  timeout 60 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined,pipelined2 $D > $R/loops-$n.txt 2>&1
  echo "== loops $n exit $? (${SECONDS} s)"; grep -E "^decode " $R/loops-$n.txt | head -4
done
for v in PMETAL_BENCH_ONE_WORKGROUP=1 PMETAL_DECODE_ATTENTION_VARIANT=latency PMETAL_NORM_QKV_CACHE=0; do
  room 300 "decode $v" || break
  env $v timeout 40 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
kill $smi
awk -F', ' '{print $2}' $R/clocks.txt | uniq -c | head -30
