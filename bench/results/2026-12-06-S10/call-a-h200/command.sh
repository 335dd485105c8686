#!/usr/bin/env bash
# Device call (run S10 call A, H100): this run's new decode defaults — gemm_gemv_rows at 128
# invocations, decode_attention's rows1 plan, quantized_gemm's qgemv_sg, fused_mlp's norm
# prologue, fused_norm_qkv — quick conformance of the new kernels on every webgpu tier, the 1B
# decode step with everything on and with the model-level fusions off (PMETAL_NORM_QKV=0
# PMETAL_MLP_NORM=0), and the new kernels' benches. Outputs straight into $OUT (a call cut
# short still returns what it wrote).
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
timeout 90 $NODE dist/cli.js conformance --quick --backend webgpu --op decode_attention,fused_mlp,quantized_gemm,fused_norm_qkv --toggles $T --json $R/conf.json > $R/conf.txt 2>&1
echo "conformance exit $?"; grep -E "^FAIL" $R/conf.txt | head -8; tail -1 $R/conf.txt
timeout 45 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined --copy-mib 256 $D --json $R/model-1b.json > $R/model-1b.txt 2>&1
echo "1b exit $?"; grep -E "^decode" $R/model-1b.txt | head -4
PMETAL_NORM_QKV=0 PMETAL_MLP_NORM=0 timeout 40 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined --copy-mib 0 $D --json $R/model-1b-unfused.json > $R/model-1b-unfused.txt 2>&1
echo "1b unfused exit $?"; grep -E "^decode" $R/model-1b-unfused.txt | head -4
timeout 30 $NODE dist/cli.js bench --op fused_norm_qkv --variants --dtype f16 --reps 10 $D --json $R/normqkv.json > $R/normqkv.txt 2>&1
echo "normqkv exit $?"; grep -E "^fused_norm_qkv " $R/normqkv.txt | grep -v "  "
timeout 35 $NODE dist/cli.js bench --op quantized_gemm --variants --dtype f16 --shape m=1, --reps 10 $D --json $R/qgemv.json > $R/qgemv.txt 2>&1
echo "qgemv exit $?"; grep -E "^quantized_gemm " $R/qgemv.txt | grep -v "  "
timeout 90 $NODE dist/cli.js bench --op decode_attention --variants --dtype f16 --reps 10 $D --json $R/decode.json > $R/decode.txt 2>&1
echo "decode exit $?"; grep -E "^decode_attention " $R/decode.txt | grep -v "  " | head -20
timeout 60 $NODE dist/cli.js bench --model llama-8b --phase decode --batch 1 --decode-loop pipelined --copy-mib 0 $D --json $R/model-8b.json > $R/model-8b.txt 2>&1
echo "8b exit $?"; grep -E "^decode" $R/model-8b.txt | head -4
