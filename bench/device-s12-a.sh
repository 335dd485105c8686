#!/usr/bin/env bash
# Device call (run S12 call A), most wanted first: stage breakdowns before any rewrite, and the
# runtime/gemm issue's peers table re-run with today's kernels and host path. `bench --profile` times
# every dispatch of one call of the ops whose targets are missed (fused_lora_forward /
# backward against the plain gemm, the sampler at B 32, decode attention at B 16 / 8k, the
# 4-bit LM-head GEMV, the flash-attention backward at its target shape); the stage ceilings of
# the decode GEMV, decode attention and the flash-attention forward at the target shape
# (`--variants` stage rows: wrong results by design); the LoRA columns before the base loop
# (PMETAL_LORA_GEMM_VARIANT=first: conformance, then time) and x·Aᵀ through the decode GEMV
# (PMETAL_LORA_XA_VARIANT=gemv); issue 12's untimed bandwidth rows,
# one op per process. Steps are skipped once the call nears its 600 s limit (`room`).
# Key lines to stdout; whole outputs appended into a few files of $OUT.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
room() { if [ $SECONDS -gt $1 ]; then echo "skipped (at ${SECONDS} s): $2"; return 1; fi; }
prof() { # op shape timeout
  room $((560 - $3)) "prof $1 $2" || return 0
  timeout $3 $NODE dist/cli.js bench --op $1 --tier subgroup-matrix,subgroups --dtype f16 --shape "$2" --reps 10 --profile $D > /tmp/prof.txt 2>&1
  echo "== $1 $2 exit $? (${SECONDS} s)"; grep -E "^[0-9]+ |dispatches" /tmp/prof.txt | head -30; cat /tmp/prof.txt >> $R/prof.txt
}
v() { # op shape variants timeout
  room $((560 - $4)) "variants $1 $2" || return 0
  timeout $4 $NODE dist/cli.js bench --op $1 --variants --variant "$3" --dtype f16 --shape "$2" --reps 10 $D > /tmp/v.txt 2>&1
  echo "== variants $1 $2 exit $? (${SECONDS} s)"; grep -E "^$1 f16" /tmp/v.txt | head -12; cat /tmp/v.txt >> $R/stages.txt
}
timeout 30 $NODE dist/cli.js bench --op gemm --dtype f16 --shape m=4096,n=14336,k=4096 --reps 10 $D > $R/gemm.txt 2>&1; grep -E "^gemm |copy kernel" $R/gemm.txt | head -3
v decode_attention b=16,t=1,len=8192,hq=32,hkv=8,d=128,smax default,stage 40
prof flash_attention_backward b=4,sq=4096,sk=4096,hq=32,hkv=8,d=128,causal 45
v gemm m=8,n default,stage 40
v gemm m=1,n=14336 default,stage 30
prof fused_lora_forward T=4096,K=4096,N=14336,r=16 40
if room 240 "peers"; then
  timeout 240 $NODE dist/cli.js bench --peers --op gemm,softmax,rms_norm,swiglu,rope,cross_entropy --toggles $T --json $R/peers.json > $R/peers.txt 2> $R/peers.err
  echo "peers exit $? (${SECONDS} s)"; grep -vE "one-time" $R/peers.txt | head -45; tail -2 $R/peers.err
fi
prof sample b=32,v=128256,topK=50 30
prof quantized_gemm m=1,n=128256 40
prof fused_lora_backward T=4096,K=4096,N=14336,r=16 40
if room 440 "lora first"; then
  PMETAL_LORA_GEMM_VARIANT=first timeout 60 $NODE dist/cli.js conformance --quick --backend webgpu --tier subgroup-matrix --op fused_lora_forward --toggles $T > $R/conf-first.txt 2>&1
  echo "conformance lora first exit $?"; grep -E "^FAIL" $R/conf-first.txt | head -5; tail -1 $R/conf-first.txt
  v fused_lora_forward T=4096,K=4096,N=14336,r=16 "default,K loop,GEMV" 60
fi
v flash_attention_forward b=4,sq=4096,sk=4096,hq=32,hkv=8,d=128,causal default,stage 60
for op in embedding_backward fused_distill_loss; do
  room 480 "$op" || continue
  timeout 75 $NODE dist/cli.js bench --op $op --reps 10 $D --json $R/bw-$op.json >> $R/train-bw.txt 2>&1
  echo "$op exit $? (${SECONDS} s)"; grep -E "^$op " $R/train-bw.txt | grep -v ": " | tail -4; grep -E "copy kernel" $R/train-bw.txt | tail -1
done
