#!/usr/bin/env bash
# Device call (run S17 call F, short: the session's last device seconds): onnxruntime-web's
# MatMulNBits against quantized_gemm at M = 8 under the new M = 5…8 pick, and at the f32
# prefill shape with W dequantized to f32 first (PMETAL_QGEMM_PREFILL=dequant, opt-in); the
# flash-attention forward's tile at D = 64 (the 1B prefill's 0.41 ms a layer) — 4 subgroups,
# 32-key tiles — against the default.
set -u
source bench/device_common.sh
timeout 60 $NODE dist/cli.js bench --peers --op quantized_gemm --shape "m=8,n=14336,k=4096,gs=32" --toggles $T --json $R/peers-qgemm-m8.json > $R/peers-qgemm-m8.txt 2> $R/peers-qgemm-m8.err
echo "peers m8 exit $? (${SECONDS} s)"; grep -E "^(op|quantized_gemm)" $R/peers-qgemm-m8.txt; tail -2 $R/peers-qgemm-m8.err
PMETAL_QGEMM_PREFILL=dequant timeout 60 $NODE dist/cli.js bench --peers --op quantized_gemm --dtype f32 --shape "m=4096,n=4096,k=4096,gs=32" --toggles $T --json $R/peers-qgemm-prefill.json > $R/peers-qgemm-prefill.txt 2> $R/peers-qgemm-prefill.err
echo "peers prefill exit $? (${SECONDS} s)"; grep -E "^(op|quantized_gemm)" $R/peers-qgemm-prefill.txt; tail -2 $R/peers-qgemm-prefill.err
timeout 50 $NODE dist/cli.js bench --op flash_attention_forward --variants --variant "default,NSG=4,BK=32" --tier subgroup-matrix --dtype f16 --shape "d=64" --reps 5 $D > $R/fa-fwd-d64.txt 2>&1
echo "fa fwd exit $? (${SECONDS} s)"; grep -E "^flash_attention_forward f16" $R/fa-fwd-d64.txt | head -12
