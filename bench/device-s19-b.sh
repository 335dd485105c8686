#!/usr/bin/env bash
# Device call (run S19, short form of device-s19-a.sh for a session whose device budget went
# mostly to refused starts): under ~5.5 minutes, each step skipped as the call nears it.
#  1. conformance of the opt-in prefill fusions (GU, QKV) on the subgroup-matrix tier;
#  2. the 1B prefill with both and without;
#  3. the 1B decode step (warmed) and its launch floor (every dispatch one workgroup);
#  4. the sampler's profile with the rowsWithoutTopK hint (no sample_mass).
set -u
source bench/device_common.sh
PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 timeout 100 $NODE dist/cli.js conformance --quick --op fused_mlp,fused_norm_qkv --backend webgpu --tier subgroup-matrix $D > $R/conformance.txt 2>&1
echo "conformance exit $? (${SECONDS} s)"; grep -iE "fail|passed" $R/conformance.txt | tail -4
PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 pm 1b-fused 60 --model llama-1b --phase prefill
pm 1b-plain 60 --model llama-1b --phase prefill
for v in PMETAL_NONE=1 PMETAL_BENCH_ONE_WORKGROUP=1; do
  room 260 "decode $v" || break
  env $v timeout 40 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
if room 310 "sample profile"; then
  timeout 25 $NODE dist/cli.js bench --op sample --profile --shape "b=32,v=128256,topK=50,topP=0.9,temperature=0.7,rowsWithoutTopK=false" --tier subgroups --dtype f16 $D > $R/sample-profile.txt 2>&1
  echo "sample profile exit $? (${SECONDS} s)"; grep -E "sample/|dispatches|ms \(median" $R/sample-profile.txt | head -6
fi
