#!/usr/bin/env bash
# Device call (run S18): fused_mlp's gate/up pair on the matrix units (GU, gu_gemm.ts; opt-in
# PMETAL_MLP_GU=1 until this call) — first its numbers (quick conformance of fused_mlp on the
# subgroup-matrix tier, whose T = 200, K = 264, I = 300 case takes it), then its time at the
# 1B and 8B prefill MLP shapes against gate, up and swiglu, then the 1B prefill with and
# without it, PyTorch + transformers last in the same call.
set -u
source bench/device_common.sh
PMETAL_MLP_GU=1 timeout 120 $NODE dist/cli.js conformance --quick --op fused_mlp --backend webgpu --tier subgroup-matrix $D > $R/conformance-gu.txt 2>&1
echo "conformance exit $? (${SECONDS} s)"; tail -3 $R/conformance-gu.txt
timeout 100 $NODE dist/cli.js bench --op fused_mlp --shape prefill --variants --variant "PMETAL_MLP_GU=1,PMETAL_MLP_GU=0" --tier subgroup-matrix --dtype f16 --reps 10 $D > $R/mlp-gu.txt 2>&1
echo "mlp bench exit $? (${SECONDS} s)"; grep -E "^fused_mlp f16" $R/mlp-gu.txt | head -8
PMETAL_MLP_GU=1 pm 1b-gu 90 --model llama-1b --phase prefill
PMETAL_MLP_GU=0 pm 1b-nogu 90 --model llama-1b --phase prefill
pt torch-1b 120 --model llama-1b --phase prefill
