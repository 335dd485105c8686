#!/usr/bin/env bash
# Device call (run S10 call B2, the short form of call B for the budget left): decode_attention
# unrolled vs rolled at B = 16, context 8192 (default rows1, deep = 4 rows and 4 keys in flight
# a workgroup, pinned rb=4,u=2); then the 1B decode step unfused / fused / unfused / fused at
# B = 1 (pipelined and serial loops) to separate the fusions from the first process of a call.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
timeout 60 $NODE dist/cli.js bench --op decode_attention --variants --variant default,deep,rb=4 --dtype f16 --shape b=16,t=1,len=8192,hq=32,hkv=8,d=128,smax --reps 10 $D > $R/decode-8k.txt 2>&1
echo "decode exit $?"; grep -E "^decode_attention f16" $R/decode-8k.txt | head -20
for i in 1 2; do
  PMETAL_NORM_QKV=0 PMETAL_MLP_NORM=0 timeout 35 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 --decode-loop pipelined,serial --copy-mib 256 $D > $R/unfused-$i.txt 2>&1
  echo "unfused $i exit $?"; grep -E "^decode  " $R/unfused-$i.txt | head -2
  timeout 35 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 --decode-loop pipelined,serial --copy-mib 256 $D > $R/fused-$i.txt 2>&1
  echo "fused $i exit $?"; grep -E "^decode  " $R/fused-$i.txt | head -2
done
