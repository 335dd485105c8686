#!/usr/bin/env bash
# Device call (run S19, short form of device-s19-a.sh for a session whose device budget went
# mostly to refused starts): under ~4–6 minutes, each step skipped as the call nears it.
#  1. decode_attention's one-split `single` plan (no reduce dispatch): its conformance, the 1B
#     decode step (warmed) with and without it, the step's launch floor (every dispatch one
#     workgroup), and the op at the step's 544 keys;
#  2. fused_norm_qkv's decode GEMV stage ceiling (run S17's profile: 38 µs a layer for 12.6 MB,
#     the decode step's least efficient kernel);
#  3. the sampler's profile with the rowsWithoutTopK hint (no sample_mass);
#  4. conformance of the opt-in prefill fusions (GU, QKV) on the subgroup-matrix tier;
#  5. the 1B prefill with both and without.
set -u
source bench/device_common.sh
PMETAL_DECODE_ATTENTION_VARIANT=single timeout 40 $NODE dist/cli.js conformance --quick --op decode_attention --backend webgpu --tier subgroups $D > $R/conformance-single.txt 2>&1
echo "conformance (single) exit $? (${SECONDS} s)"; tail -1 $R/conformance-single.txt
for v in PMETAL_NONE=1 PMETAL_DECODE_ATTENTION_VARIANT=single PMETAL_BENCH_ONE_WORKGROUP=1; do
  env $v timeout 40 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
timeout 40 $NODE dist/cli.js bench --op decode_attention --shape len=544 --variants --variant "default,single,latency,stage: no reduce" --dtype f16 --reps 10 $D > $R/decode-attn.txt 2>&1
echo "decode_attention exit $? (${SECONDS} s)"; grep -E "^decode_attention f16" $R/decode-attn.txt | head -12
timeout 45 $NODE dist/cli.js bench --op fused_norm_qkv --shape "decode T=1,K=2048" --variants --variant "default,prenorm,composed,stage" --dtype f16 --reps 10 $D > $R/norm-qkv.txt 2>&1
echo "norm_qkv exit $? (${SECONDS} s)"; grep -E "^fused_norm_qkv f16" $R/norm-qkv.txt | head -10
if room 260 "sample profile"; then
  timeout 25 $NODE dist/cli.js bench --op sample --profile --shape "b=32,v=128256,topK=50,topP=0.9,temperature=0.7,rowsWithoutTopK=false" --tier subgroups --dtype f16 $D > $R/sample-profile.txt 2>&1
  echo "sample profile exit $? (${SECONDS} s)"; grep -E "sample/|dispatches|ms \(median" $R/sample-profile.txt | head -6
fi
room 280 "conformance" && PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 timeout 80 $NODE dist/cli.js conformance --quick --op fused_mlp,fused_norm_qkv --backend webgpu --tier subgroup-matrix $D > $R/conformance.txt 2>&1
echo "conformance exit $? (${SECONDS} s)"; grep -iE "fail|passed" $R/conformance.txt | tail -4
room 330 "1B prefill" && PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 timeout 55 $NODE dist/cli.js bench --model llama-1b --phase prefill $D --json $R/1b-fused.json > $R/1b-fused.txt 2>&1 && echo "fused (${SECONDS} s)" && grep -E "^prefill " $R/1b-fused.txt
room 380 "1B prefill plain" && timeout 55 $NODE dist/cli.js bench --model llama-1b --phase prefill $D --json $R/1b-plain.json > $R/1b-plain.txt 2>&1 && echo "plain (${SECONDS} s)" && grep -E "^prefill " $R/1b-plain.txt
