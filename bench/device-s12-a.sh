#!/usr/bin/env bash
# Device call (run S12 call A): stage breakdowns before any rewrite — `bench --profile` times
# every dispatch of one call of the ops whose targets are missed (fused_lora_forward /
# backward and fused_mlp against the plain gemm, the sampler at B 32, decode attention at
# B 16 / 8k, the 4-bit LM-head GEMV); then issue 12's untimed bandwidth rows one op per
# process (embedding_backward, the distillation losses); the 1B prefill by op and kernel.
# Key lines to stdout; whole outputs appended into a few files of $OUT.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
prof() { # op shape timeout
  timeout $3 $NODE dist/cli.js bench --op $1 --tier subgroup-matrix,subgroups --dtype f16 --shape "$2" --reps 10 --profile $D > /tmp/prof.txt 2>&1
  echo "== $1 $2 exit $?"; grep -E "^[0-9]+ |dispatches" /tmp/prof.txt | head -40; cat /tmp/prof.txt >> $R/prof.txt
}
timeout 40 $NODE dist/cli.js bench --op gemm --dtype f16 --shape m=4096,n=14336,k=4096 --reps 10 $D > $R/gemm.txt 2>&1; grep -E "^gemm " $R/gemm.txt | head -3
PMETAL_LORA_GEMM_VARIANT=first timeout 60 $NODE dist/cli.js conformance --quick --backend webgpu --tier subgroup-matrix --op fused_lora_forward,fused_mlp --toggles $T > $R/conf-first.txt 2>&1
echo "conformance lora first exit $?"; grep -E "^FAIL" $R/conf-first.txt | head -5; tail -1 $R/conf-first.txt
timeout 80 $NODE dist/cli.js bench --op fused_lora_forward --variants --variant default,K loop --dtype f16 --shape T=4096,K=4096,N=14336,r=16 --reps 10 $D > $R/lora-variants.txt 2>&1
echo "lora variants exit $?"; grep -E "^fused_lora_forward f16" $R/lora-variants.txt | head
prof fused_lora_forward T=4096,K=4096,N=14336,r=16 60
prof fused_lora_backward T=4096,K=4096,N=14336,r=16 60
prof fused_mlp T=4096,K=4096,I=14336,r=16 60
prof sample b=32,v=128256,topK=50 40
prof sample b=32,v=128256,topK=0 40
prof decode_attention b=16,t=1,len=8192 40
prof quantized_gemm m=1,n=128256 60
prof quantized_gemm m=1,n=14336 40
# Stage ceilings of the kernels whose targets are missed (wrong results by design).
v() { # op shape variants timeout
  timeout $4 $NODE dist/cli.js bench --op $1 --variants --variant "$3" --dtype f16 --shape "$2" --reps 10 $D > /tmp/v.txt 2>&1
  echo "== variants $1 $2 exit $?"; grep -E "^$1 f16" /tmp/v.txt | head -12; cat /tmp/v.txt >> $R/stages.txt
}
v gemm m=8,n default,stage 40
v gemm m=1,n=14336 default,stage 30
v decode_attention b=16,t=1,len=8192,hq=32,hkv=8,d=128,smax default,stage 40
v flash_attention_forward b=4,sq=4096,sk=4096,hq=32,hkv=8,d=128,causal default,stage 60
prof flash_attention_backward b=4,sq=4096,sk=4096,hq=32,hkv=8,d=128,causal 60
for op in embedding_backward fused_distill_loss fused_distill_loss_backward; do
  timeout 100 $NODE dist/cli.js bench --op $op --reps 10 $D --json $R/bw-$op.json >> $R/train-bw.txt 2>&1
  echo "$op exit $?"; grep -E "^$op " $R/train-bw.txt | grep -v ": " | tail -4; grep -E "copy kernel" $R/train-bw.txt | tail -1
done
timeout 90 $NODE dist/cli.js bench --model llama-1b --phase prefill --profile $D --json $R/prefill-1b.json > $R/prefill-1b.txt 2>&1
echo "1b prefill exit $?"; grep -E "^prefill" $R/prefill-1b.txt | head -3; grep -A25 -E "^(prefill|profile)" $R/prefill-1b.txt | tail -30
