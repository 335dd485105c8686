#!/usr/bin/env bash
# Device call (run S20): what decides the next defaults, each step skipped as the call nears
# its limit (`room`):
#  1. flash attention's padded S/P stages (PMETAL_FA_SGMAT_PAD=8, forward and backward):
#     conformance on the subgroup-matrix tier, then the forward at D = 64 (the 1B prefill's
#     shape and B 2, S 8192) against the default;
#  2. decode_attention's one-split `single` plan: conformance, the 1B decode step with and
#     without it;
#  3. the opt-in prefill fusions (GU, QKV): conformance, then the 1B prefill plain and with
#     GU + QKV + padded stages;
#  4. the sampler's profile with the rowsWithoutTopK hint; decode_attention at 544 keys.
# fused_norm_qkv's decode stage ceiling comes second: run S17's profile put that GEMV at ~28 µs
# of a 1B decode step's layer for 12.6 MB (17% of copy), the step's least efficient kernel.
set -u
source bench/device_common.sh
PMETAL_FA_SGMAT_PAD=8 timeout 90 $NODE dist/cli.js conformance --quick --op flash_attention_forward,flash_attention_backward --backend webgpu --tier subgroup-matrix $D > $R/conformance-fa-pad.txt 2>&1
echo "conformance fa pad exit $? (${SECONDS} s)"; grep -iE "fail|passed" $R/conformance-fa-pad.txt | tail -3
timeout 60 $NODE dist/cli.js bench --op flash_attention_forward --variants --variant "default,padded" --tier subgroup-matrix --dtype f16 --shape "d=64" --reps 5 $D > $R/fa-fwd-pad.txt 2>&1
echo "fa exit $? (${SECONDS} s)"; grep -E "^flash_attention_forward f16" $R/fa-fwd-pad.txt | head -8
timeout 25 $NODE dist/cli.js bench --op fused_norm_qkv --shape "decode T=1,K=2048" --variants --variant "default,prenorm,composed,stage" --dtype f16 --reps 10 $D > $R/norm-qkv.txt 2>&1
echo "norm_qkv exit $? (${SECONDS} s)"; grep -E "^fused_norm_qkv f16" $R/norm-qkv.txt | head -8
PMETAL_DECODE_ATTENTION_VARIANT=single timeout 40 $NODE dist/cli.js conformance --quick --op decode_attention --backend webgpu --tier subgroups $D > $R/conformance-single.txt 2>&1
echo "conformance (single) exit $? (${SECONDS} s)"; tail -1 $R/conformance-single.txt
for v in PMETAL_NONE=1 PMETAL_DECODE_ATTENTION_VARIANT=single; do
  room 300 "decode $v" || break
  env $v timeout 40 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
room 320 "conformance GU/QKV" && PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 timeout 90 $NODE dist/cli.js conformance --quick --op fused_mlp,fused_norm_qkv --backend webgpu --tier subgroup-matrix $D > $R/conformance.txt 2>&1
echo "conformance GU/QKV exit $? (${SECONDS} s)"; grep -iE "fail|passed" $R/conformance.txt | tail -3
pm 1b-plain 55 --model llama-1b --phase prefill
PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 PMETAL_FA_SGMAT_PAD=8 pm 1b-fused 55 --model llama-1b --phase prefill
if room 500 "sample profile"; then
  timeout 25 $NODE dist/cli.js bench --op sample --profile --shape "b=32,v=128256,topK=50,topP=0.9,temperature=0.7,rowsWithoutTopK=false" --tier subgroups --dtype f16 $D > $R/sample-profile.txt 2>&1
  echo "sample profile exit $? (${SECONDS} s)"; grep -E "sample/|dispatches|ms \(median" $R/sample-profile.txt | head -6
fi
room 520 "decode_attention op" && timeout 30 $NODE dist/cli.js bench --op decode_attention --shape len=544 --variants --variant "default,single,stage: no reduce" --dtype f16 --reps 10 $D > $R/decode-attn.txt 2>&1
echo "decode_attention exit $? (${SECONDS} s)"; grep -E "^decode_attention f16" $R/decode-attn.txt | head -9
