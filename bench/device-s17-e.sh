#!/usr/bin/env bash
# Device call (run S17 call E): onnxruntime-web's MatMulNBits against quantized_gemm at M = 8
# under the new M = 5…8 pick; the decode phase, which now runs one whole loop untimed before
# the timed one (calls C and D: a process's first loop ran at 3.1–6.0 ms a 1B step, the later
# ones at 1.69–1.71), with the SM clock logged every 100 ms (clocks.txt): two processes timing
# both pipelined loops, then the step with every dispatch cut to its first workgroup (the
# launches' floor, wrong tokens) and decode attention's `latency` plan.
set -u
source bench/device_common.sh
timeout 100 $NODE dist/cli.js bench --peers --op quantized_gemm --shape "m=8,n=14336,k=4096,gs=32" --toggles $T --json $R/peers-qgemm-m8.json > $R/peers-qgemm-m8.txt 2> $R/peers-qgemm-m8.err
echo "peers exit $? (${SECONDS} s)"; grep -E "^(op|quantized_gemm)" $R/peers-qgemm-m8.txt; tail -2 $R/peers-qgemm-m8.err
nvidia-smi --query-gpu=timestamp,clocks.sm,utilization.gpu --format=csv,noheader -lms 100 > $R/clocks.txt 2>&1 &
smi=$!
for n in 1 2; do
  room 170 "loops $n" || break
  timeout 45 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 --decode-loop pipelined,pipelined2 $D > $R/loops-$n.txt 2>&1
  echo "== loops $n exit $? (${SECONDS} s)"; grep -E "^decode " $R/loops-$n.txt | head -4
done
for v in PMETAL_BENCH_ONE_WORKGROUP=1 PMETAL_DECODE_ATTENTION_VARIANT=latency; do
  room 200 "decode $v" || break
  env $v timeout 30 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
kill $smi
awk -F', ' '{print $2}' $R/clocks.txt | uniq -c | head -30
