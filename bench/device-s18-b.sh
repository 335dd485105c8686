#!/usr/bin/env bash
# Device call (run S18): two opt-in prefill fusions on the matrix units — fused_mlp's gate/up
# pair (GU, gu_gemm.ts: PMETAL_MLP_GU=1) and fused_norm_qkv's three projections in one
# dispatch (QKV, qkv_gemm.ts: PMETAL_QKV_GEMM=1). First their numbers (quick conformance of
# both ops on the subgroup-matrix tier; cases T = 200 / I = 300 and T = 130 / N_q 512 take
# them), then their time at the 1B and 8B prefill MLP shapes against gate, up and swiglu, then
# the 1B prefill with and without both (and its profile with), PyTorch + transformers last.
set -u
source bench/device_common.sh
PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 timeout 150 $NODE dist/cli.js conformance --quick --op fused_mlp,fused_norm_qkv --backend webgpu --tier subgroup-matrix $D > $R/conformance.txt 2>&1
echo "conformance exit $? (${SECONDS} s)"; grep -iE "fail|passed" $R/conformance.txt | tail -4
timeout 100 $NODE dist/cli.js bench --op fused_mlp --shape prefill --variants --variant "PMETAL_MLP_GU=1,PMETAL_MLP_GU=0" --tier subgroup-matrix --dtype f16 --reps 10 $D > $R/mlp-gu.txt 2>&1
echo "mlp bench exit $? (${SECONDS} s)"; grep -E "^fused_mlp f16" $R/mlp-gu.txt | head -8
timeout 80 $NODE dist/cli.js bench --op fused_norm_qkv --shape prefill --variants --variant "default,PMETAL_QKV_GEMM=1" --tier subgroup-matrix --dtype f16 --reps 10 $D > $R/qkv.txt 2>&1
echo "qkv bench exit $? (${SECONDS} s)"; grep -E "^fused_norm_qkv f16" $R/qkv.txt | head -8
PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 pm 1b-fused 90 --model llama-1b --phase prefill
pm 1b-plain 90 --model llama-1b --phase prefill
PMETAL_MLP_GU=1 PMETAL_QKV_GEMM=1 pm 1b-fused-profile 90 --model llama-1b --phase prefill --profile
pt torch-1b 120 --model llama-1b --phase prefill
