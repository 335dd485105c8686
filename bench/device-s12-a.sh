#!/usr/bin/env bash
# Device call (run S12 call A), most wanted first: stage breakdowns before any rewrite, and the
# runtime/gemm issue's peers table re-run with today's kernels and host path. `bench --profile` times
# every dispatch of one call of the ops whose targets are missed (fused_lora_forward /
# backward against the plain gemm, the sampler at B 32, decode attention at B 16 / 8k, the
# 4-bit LM-head GEMV, the flash-attention backward at its target shape); the stage ceilings of
# the decode GEMV, decode attention and the flash-attention forward at the target shape
# (`--variants` stage rows: wrong results by design); the LoRA columns before the base loop
# (PMETAL_LORA_GEMM_VARIANT=first: conformance, then time); issue 12's untimed bandwidth rows,
# one op per process. Steps are skipped once the call nears 150 s (`room`): the session's device
# time left after failed starts.
# Key lines to stdout; whole outputs appended into a few files of $OUT.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
room() { if [ $SECONDS -gt $1 ]; then echo "skipped (at ${SECONDS} s): $2"; return 1; fi; }
prof() { # op shape timeout
  room $((150 - $3)) "prof $1 $2" || return 0
  timeout $3 $NODE dist/cli.js bench --op $1 --tier subgroup-matrix,subgroups --dtype f16 --shape "$2" --reps 10 --profile $D > /tmp/prof.txt 2>&1
  echo "== $1 $2 exit $? (${SECONDS} s)"; grep -E "^[0-9]+ |dispatches" /tmp/prof.txt | head -30; cat /tmp/prof.txt >> $R/prof.txt
}
v() { # op shape variants timeout
  room $((150 - $4)) "variants $1 $2" || return 0
  timeout $4 $NODE dist/cli.js bench --op $1 --variants --variant "$3" --dtype f16 --shape "$2" --reps 10 $D > /tmp/v.txt 2>&1
  echo "== variants $1 $2 exit $? (${SECONDS} s)"; grep -E "^$1 f16" /tmp/v.txt | head -12; cat /tmp/v.txt >> $R/stages.txt
}
timeout 30 $NODE dist/cli.js bench --op gemm --dtype f16 --shape m=4096,n=14336,k=4096 --reps 10 $D > $R/gemm.txt 2>&1; grep -E "^gemm |copy kernel" $R/gemm.txt | head -3
v decode_attention b=16,t=1,len=8192,hq=32,hkv=8,d=128,smax default,stage 40
prof flash_attention_backward b=4,sq=4096,sk=4096,hq=32,hkv=8,d=128,causal 45
v gemm m=8,n default,stage 40
prof fused_lora_forward T=4096,K=4096,N=14336,r=16 40
v gemm m=1,n=14336 default,stage 30
prof sample b=32,v=128256,topK=50 30
if room 100 "peers"; then
  timeout $((240 - SECONDS)) $NODE dist/cli.js bench --peers --op gemm,softmax,rms_norm,swiglu,rope,cross_entropy --toggles $T --json $R/peers.json > $R/peers.txt 2> $R/peers.err
  echo "peers exit $? (${SECONDS} s)"; grep -vE "one-time" $R/peers.txt | head -45; tail -2 $R/peers.err
fi
