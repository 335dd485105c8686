#!/usr/bin/env bash
# Device call (run S8 call D, H100): variants whose earlier timings a launch-tape replay had
# made meaningless (sampler, decode attention: tapes recorded under the first variant were
# replayed under every name, fixed this run), gemm's decode rows at M = 16, and where a 1B
# decode step's GPU time goes now (--profile). Everything in $OUT/results.tgz.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=/tmp/res; mkdir -p $R
timeout 100 $NODE dist/cli.js bench --op sample --variants --dtype f16 --reps 5 $D --json $R/sample-variants.json > $R/sample-variants.txt 2>&1
echo "sample exit $?"; grep -E "^sample " $R/sample-variants.txt | head -30
timeout 100 $NODE dist/cli.js bench --op decode_attention --variants --dtype f16 --reps 5 $D --json $R/decode-variants.json > $R/decode-variants.txt 2>&1
echo "decode_attention exit $?"; grep -E "^decode_attention " $R/decode-variants.txt | head -30
timeout 60 $NODE dist/cli.js bench --op gemm --shape m=16,n= --dtype f16 --reps 10 $D --json $R/gemv-m16.json > $R/gemv-m16.txt 2>&1
echo "gemv exit $?"; grep -E "^gemm " $R/gemv-m16.txt | head -10
timeout 120 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined --profile --copy-mib 256 $D --json $R/decode-profile.json > $R/decode-profile.txt 2>&1
echo "profile exit $?"; grep -v Warning $R/decode-profile.txt | head -60
tar -C $R -czf $OUT/results.tgz .
