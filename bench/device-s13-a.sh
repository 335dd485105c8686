#!/usr/bin/env bash
# Device call (run S13 call A): run S12's call A cut to what closes issues, most wanted first —
# decode attention's stages (and the new key prefetch) at B 16 / 8k, the flash-attention
# backward's dispatch profile at its target shape (issue 11); the decode GEMV's stages at M 8
# and 1, and the first op family's peers table with today's kernels and host path (issue 13);
# x·Aᵀ through the decode GEMV in the LoRA forward (issue 12). Steps are skipped as the call
# nears 520 s (`room`). Key lines to stdout; whole outputs appended into a few files of $OUT.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
room() { if [ $SECONDS -gt $1 ]; then echo "skipped (at ${SECONDS} s): $2"; return 1; fi; }
prof() { # op shape timeout
  room $((520 - $3)) "prof $1 $2" || return 0
  timeout $3 $NODE dist/cli.js bench --op $1 --tier subgroup-matrix,subgroups --dtype f16 --shape "$2" --reps 10 --profile $D > /tmp/prof.txt 2>&1
  echo "== $1 $2 exit $? (${SECONDS} s)"; grep -E "^[0-9]+ |dispatches" /tmp/prof.txt | head -30; cat /tmp/prof.txt >> $R/prof.txt
}
v() { # op shape variants timeout
  room $((520 - $4)) "variants $1 $2" || return 0
  timeout $4 $NODE dist/cli.js bench --op $1 --variants --variant "$3" --dtype f16 --shape "$2" --reps 10 $D > /tmp/v.txt 2>&1
  echo "== variants $1 $2 exit $? (${SECONDS} s)"; grep -E "^$1 f16" /tmp/v.txt | head -12; cat /tmp/v.txt >> $R/stages.txt
}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
v decode_attention b=16,t=1,len=8192,hq=32,hkv=8,d=128,smax "default,stage,prefetch: group" 45
prof flash_attention_backward b=4,sq=4096,sk=4096,hq=32,hkv=8,d=128,causal 45
v gemm m=8,n default,stage 40
v gemm m=1,n=14336 default,stage 30
prof sample b=32,v=128256,topK=50 30
if room 280 "peers"; then
  timeout 240 $NODE dist/cli.js bench --peers --op gemm,softmax,rms_norm,swiglu,rope,cross_entropy --toggles $T --json $R/peers.json > $R/peers.txt 2> $R/peers.err
  echo "peers exit $? (${SECONDS} s)"; grep -vE "one-time" $R/peers.txt | head -45; tail -2 $R/peers.err
fi
v fused_lora_forward T=4096,K=4096,N=14336,r=16 "default,GEMV" 50
