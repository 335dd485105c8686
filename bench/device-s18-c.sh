#!/usr/bin/env bash
# Device call (run S18, the one call this session's device budget may allow after refused
# starts): the most wanted of device-s18-b.sh and device-s18-a.sh in one, in order, each step
# skipped as the call nears its limit (`room`):
#  1. conformance of the two opt-in prefill fusions on the subgroup-matrix tier (GU: fused_mlp's
#     gate/up pair; QKV: fused_norm_qkv's three products in one dispatch);
#  2. the 1B prefill with both and without, then PyTorch + transformers in the same call;
#  3. the 1B decode step after an untimed first loop (the default; run S17's first loops read
#     3.1–6.0 ms), then with every dispatch cut to its first workgroup (the launches' floor,
#     wrong tokens), without decode_reduce's dispatch (DECODE_STAGE 3, wrong results), with
#     decode attention's `latency` plan and fused_norm_qkv as rms_norm + the PRENORM GEMV;
#  4. fused_norm_qkv's decode GEMV stage ceiling; the sampler's chunk-pass stages.
set -u
source bench/device_common.sh
PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 timeout 120 $NODE dist/cli.js conformance --quick --op fused_mlp,fused_norm_qkv --backend webgpu --tier subgroup-matrix $D > $R/conformance.txt 2>&1
echo "conformance exit $? (${SECONDS} s)"; grep -iE "fail|passed" $R/conformance.txt | tail -4
PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 pm 1b-fused 70 --model llama-1b --phase prefill
pm 1b-plain 70 --model llama-1b --phase prefill
pt torch-1b 90 --model llama-1b --phase prefill
for v in PMETAL_NONE=1 PMETAL_BENCH_ONE_WORKGROUP=1 PMETAL_BENCH_DECODE_STAGE=3 PMETAL_DECODE_ATTENTION_VARIANT=latency PMETAL_NORM_QKV_VARIANT=prenorm; do
  room 400 "decode $v" || break
  env $v timeout 45 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
if room 420 "norm_qkv stages"; then
  timeout 50 $NODE dist/cli.js bench --op fused_norm_qkv --shape "decode T=1,K=2048" --variants --variant "default,WG=256,prenorm,stage" --dtype f16 --reps 10 $D > $R/norm-qkv.txt 2>&1
  echo "norm_qkv exit $? (${SECONDS} s)"; grep -E "^fused_norm_qkv f16" $R/norm-qkv.txt | head -12
fi
if room 450 "sample stages"; then
  timeout 35 $NODE dist/cli.js bench --op sample --variants --variant "default,stage" --tier subgroups --dtype f16 --reps 10 $D > $R/sample-stages.txt 2>&1
  echo "sample exit $? (${SECONDS} s)"; grep -E "^sample f16" $R/sample-stages.txt | head -12
fi
