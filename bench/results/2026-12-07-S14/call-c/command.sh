#!/usr/bin/env bash
# Device call (run S14 call C): onnxruntime-web's MatMulNBits against quantized_gemm on every
# shared shape (issue 14's ≥ 2×; the prefill rows with PMETAL_QGEMM_PREFILL as exported by the
# caller) after the prefill plans' own times, and the 1B prefill's dispatch profile (issue 15's limit).
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
room() { if [ $SECONDS -gt $1 ]; then echo "skipped (at ${SECONDS} s): $2"; return 1; fi; }
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
# The prefill plans first (tiles, the default, against dequantize + f16 gemm), and the f16 gemm.
timeout 80 $NODE dist/cli.js bench --op quantized_gemm --variants --variant "default,dequant" --tier subgroup-matrix --dtype f16 --shape m=4096 --reps 10 $D > $R/qgemm-prefill.txt 2>&1
echo "qgemm prefill exit $? (${SECONDS} s)"; grep -E "^quantized_gemm f16" $R/qgemm-prefill.txt
timeout 40 $NODE dist/cli.js bench --op gemm --tier subgroup-matrix --dtype f16 --shape m=4096,n=4096,k=4096 --reps 10 $D 2>&1 | grep -E "^gemm " | tee $R/gemm-4096.txt
echo "PMETAL_QGEMM_PREFILL=${PMETAL_QGEMM_PREFILL:-} for the peers"
timeout 260 $NODE dist/cli.js bench --peers --op quantized_gemm --toggles $T --json $R/peers-qgemm.json > $R/peers-qgemm.txt 2> $R/peers-qgemm.err
echo "peers exit $? (${SECONDS} s)"; grep -E "^(op|quantized_gemm)" $R/peers-qgemm.txt | head -24; tail -2 $R/peers-qgemm.err
if room 480 "1b prefill profile"; then
  timeout 60 $NODE dist/cli.js bench --model llama-1b --phase prefill --profile $D > $R/prefill-1b-profile.txt 2>&1
  echo "1b prefill profile exit $? (${SECONDS} s)"; grep -vE "^\s*$" $R/prefill-1b-profile.txt | head -40
fi
