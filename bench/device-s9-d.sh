#!/usr/bin/env bash
# Device call (run S9 call D, H100): the new decode defaults (gemm_gemv_rows at 128 invocations,
# decode_attention's rows1 plan) — quick conformance of the ops they touch on every webgpu tier,
# decode attention at every bench context against the old default (deep), and the 1B decode step
# with fused_mlp's norm prologue on, off, and on again (call C's 4.36 ms with it on was the
# first model run of that call); quantized_gemm's new qgemv_sg decode kernel against qgemv_rows. Output in $OUT/results.tgz.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=/tmp/res; mkdir -p $R
timeout 150 $NODE dist/cli.js conformance --quick --backend webgpu --op decode_attention,gemm,fused_mlp,quantized_gemm --toggles $T --json $R/conf.json > $R/conf.txt 2>&1
echo "conformance exit $?"; grep -E "^FAIL" $R/conf.txt | head -8; tail -1 $R/conf.txt
PMETAL_DECODE_PIN=rb=1 timeout 100 $NODE dist/cli.js bench --op decode_attention --dtype f16 --tier subgroups --reps 10 $D --json $R/decode-rb1.json > $R/decode-rb1.txt 2>&1
echo "decode rb1 exit $?"; grep -E "^decode_attention " $R/decode-rb1.txt | grep -v "  "
timeout 100 $NODE dist/cli.js bench --op decode_attention --dtype f16 --tier subgroups --reps 10 $D --json $R/decode.json > $R/decode.txt 2>&1
echo "decode exit $?"; grep -E "^decode_attention " $R/decode.txt | grep -v "  "
PMETAL_DECODE_ATTENTION_VARIANT=deep timeout 100 $NODE dist/cli.js bench --op decode_attention --dtype f16 --tier subgroups --reps 10 $D --json $R/decode-deep.json > $R/decode-deep.txt 2>&1
echo "decode deep exit $?"; grep -E "^decode_attention " $R/decode-deep.txt | grep -v "  "
for m in 1 8; do
timeout 90 $NODE dist/cli.js bench --op quantized_gemm --variants --dtype f16 --shape m=$m, --reps 10 $D --json $R/qgemv-m$m.json > $R/qgemv-m$m.txt 2>&1
echo "qgemv m=$m exit $?"; grep -E "^quantized_gemm " $R/qgemv-m$m.txt | grep -v "  "
done
for n in 1 0 1; do
PMETAL_MLP_NORM=$n timeout 80 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined --copy-mib 256 $D --json $R/model-1b-norm$n.json > $R/model-1b-norm$n.txt 2>&1
echo "1b norm=$n exit $?"; grep -E "^decode" $R/model-1b-norm$n.txt | head -2
done
tar -C $R -czf $OUT/results.tgz .
