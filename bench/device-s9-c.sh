#!/usr/bin/env bash
# Device call (run S9 call C, H100): what one dependent dispatch costs on this stack
# (scripts/probes/dispatch_floor.mjs), and decode attention's pinned plans at the model bench's
# decode shape (PMETAL_DECODE_PIN through bench --variants); the sampler's new 'bound' default
# (quick conformance on every tier, then its variants at top-k 50); fused_mlp's norm prologue and
# the 1B decode step with it (and without: PMETAL_MLP_NORM=0). Output in $OUT/results.tgz.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=/tmp/res; mkdir -p $R
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 60 $NODE scripts/probes/dispatch_floor.mjs 2000 > $R/dispatch-floor.txt 2>&1
echo "floor exit $?"; grep -v Warning $R/dispatch-floor.txt
timeout 150 $NODE dist/cli.js bench --op decode_attention --variants --dtype f16 --shape len=544,hq=32,hkv=8,d=64 --reps 10 $D --json $R/decode-pins.json > $R/decode-pins.txt 2>&1
echo "decode_attention exit $?"; grep -E "^decode_attention " $R/decode-pins.txt | grep -v "  " | sed 's/(deep: ~1056 workgroups, splits ≥ 128 keys, 4 keys in flight a team)//'
timeout 120 $NODE dist/cli.js conformance --quick --backend webgpu --op sample,gemm,fused_mlp --toggles $T --json $R/conf-sample.json > $R/conf-sample.txt 2>&1
echo "conformance exit $?"; grep -E "^FAIL" $R/conf-sample.txt | head -8; tail -2 $R/conf-sample.txt
timeout 100 $NODE dist/cli.js bench --op gemm --variants --dtype f16 --shape n=14336,k=4096,transB --reps 10 $D --json $R/gemv.json > $R/gemv.txt 2>&1
echo "gemv exit $?"; grep -E "^gemm " $R/gemv.txt | grep -v "  " | grep -E "m=(1|8|16),"

timeout 100 $NODE dist/cli.js bench --op sample --variants --dtype f16 --shape topK=50 --reps 10 $D --json $R/sample.json > $R/sample.txt 2>&1
echo "sample exit $?"; grep -E "^sample " $R/sample.txt | grep -v "  "
timeout 100 $NODE dist/cli.js bench --op fused_mlp --variants --dtype f16 --shape K=2048,I=8192 --reps 10 $D --json $R/mlp.json > $R/mlp.txt 2>&1
echo "mlp exit $?"; grep -E "^fused_mlp " $R/mlp.txt | grep -v "  "
timeout 100 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined --copy-mib 256 $D --json $R/model-1b.json > $R/model-1b.txt 2>&1
echo "1b exit $?"; grep -E "^decode" $R/model-1b.txt
PMETAL_MLP_NORM=0 timeout 100 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined --copy-mib 0 $D --json $R/model-1b-nonorm.json > $R/model-1b-nonorm.txt 2>&1
echo "1b nonorm exit $?"; grep -E "^decode" $R/model-1b-nonorm.txt
tar -C $R -czf $OUT/results.tgz .
