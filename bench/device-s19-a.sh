#!/usr/bin/env bash
# Device call (run S19): device-s18-c.sh's steps re-ordered for what decides the next code —
# each step skipped as the call nears its limit (`room`):
#  1. conformance of the two opt-in prefill fusions (GU, QKV) on the subgroup-matrix tier;
#  2. the 1B prefill with both and without (PyTorch's 14.58 ms is run S17's; last, if room);
#  3. the 1B decode step after an untimed first loop: the default; every dispatch cut to its
#     first workgroup (the launches' floor, wrong tokens); no decode_reduce dispatch
#     (DECODE_STAGE 3, wrong results); one split per query head (what a reduce-free
#     single-split attention would stream); the `latency` plan;
#  4. the sampler's chunk-pass stages and the rowsWithoutTopK hint (no sample_mass);
#  5. PyTorch + transformers' 1B prefill.
set -u
source bench/device_common.sh
PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 timeout 120 $NODE dist/cli.js conformance --quick --op fused_mlp,fused_norm_qkv --backend webgpu --tier subgroup-matrix $D > $R/conformance.txt 2>&1
echo "conformance exit $? (${SECONDS} s)"; grep -iE "fail|passed" $R/conformance.txt | tail -4
PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 pm 1b-fused 70 --model llama-1b --phase prefill
pm 1b-plain 70 --model llama-1b --phase prefill
for v in PMETAL_NONE=1 PMETAL_BENCH_ONE_WORKGROUP=1 PMETAL_BENCH_DECODE_STAGE=3 PMETAL_DECODE_PIN=splits=1 PMETAL_DECODE_ATTENTION_VARIANT=latency; do
  room 400 "decode $v" || break
  env $v timeout 45 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
if room 440 "sample stages"; then
  timeout 40 $NODE dist/cli.js bench --op sample --variants --variant "default,stage" --tier subgroups --dtype f16 --reps 10 $D > $R/sample-stages.txt 2>&1
  echo "sample exit $? (${SECONDS} s)"; grep -E "^sample f16" $R/sample-stages.txt | head -16
fi
if room 470 "sample profile"; then
  timeout 30 $NODE dist/cli.js bench --op sample --profile --shape "b=32,v=128256,topK=50,topP=0.9,temperature=0.7,rowsWithoutTopK=false" --tier subgroups --dtype f16 $D > $R/sample-profile.txt 2>&1
  echo "sample profile exit $? (${SECONDS} s)"; grep -E "sample/|dispatches" $R/sample-profile.txt | head -6
fi
pt torch-1b 90 --model llama-1b --phase prefill
