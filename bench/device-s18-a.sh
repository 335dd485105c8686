#!/usr/bin/env bash
# Device call (for run S18; written in S17, whose device budget ran out first). Most wanted first:
# fused_norm_qkv's decode GEMV — 0.025 ms for 12.6 MB at the 1B shape in run S17 (17% of copy,
# 2.8× a plain GEMV's time a byte, then with 256 invocations) — with 128 invocations (the new
# default, untimed) against 256 and its stage-by-stage ceiling (no rstd phase / plain stores /
# both / an immediate return); then the decode phase with its new
# untimed first loop (run S17: a process's first loop read 3.1–6.0 ms a 1B step, later ones
# 1.69–1.71), the SM clock logged every 100 ms (clocks.txt), both pipelined loops in two
# processes; then, warmed the same way, the step with every dispatch cut to its first workgroup
# (the launches' floor, wrong tokens), decode attention's `latency` plan and fused_norm_qkv at
# 256 invocations and as rms_norm + the PRENORM GEMV (`prenorm`) in the model, and the step without decode_reduce's dispatch (DECODE_STAGE 3:
# what one attention dispatch a layer instead of two would save at most); last, the sampler's chunk-pass stage ceiling at the shapes.
set -u
source bench/device_common.sh
timeout 80 $NODE dist/cli.js bench --op fused_norm_qkv --variants --variant "default,WG=256,prenorm,stage" --dtype f16 --reps 10 $D > $R/norm-qkv.txt 2>&1
echo "norm_qkv exit $? (${SECONDS} s)"; grep -E "^fused_norm_qkv f16 decode T=1," $R/norm-qkv.txt | head -24
nvidia-smi --query-gpu=timestamp,clocks.sm,utilization.gpu --format=csv,noheader -lms 100 > $R/clocks.txt 2>&1 &
smi=$!
for n in 1 2; do
  room 300 "loops $n" || break
  timeout 50 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 --decode-loop pipelined,pipelined2 $D > $R/loops-$n.txt 2>&1
  echo "== loops $n exit $? (${SECONDS} s)"; grep -E "^decode " $R/loops-$n.txt | head -4
done
for v in PMETAL_BENCH_ONE_WORKGROUP=1 PMETAL_DECODE_ATTENTION_VARIANT=latency PMETAL_NORM_QKV_WG=256 PMETAL_NORM_QKV_VARIANT=prenorm PMETAL_BENCH_DECODE_STAGE=3; do
  room 420 "decode $v" || break
  env $v timeout 40 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
kill $smi
awk -F', ' '{print $2}' $R/clocks.txt | uniq -c | head -30
if room 470 "sample stages"; then
  timeout 60 $NODE dist/cli.js bench --op sample --variants --variant "default,stage" --tier subgroups --dtype f16 --reps 10 $D > $R/sample-stages.txt 2>&1
  echo "sample exit $? (${SECONDS} s)"; grep -E "^sample f16" $R/sample-stages.txt | head -12
fi
