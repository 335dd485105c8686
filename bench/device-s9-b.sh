#!/usr/bin/env bash
# Device call (run S9 call B, H100): decode attention's stage-by-stage ceiling at the model
# bench's decode shape (PMETAL_BENCH_DECODE_STAGE through bench --variants; wrong results by
# design). Output in $OUT/results.tgz.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=/tmp/res; mkdir -p $R
timeout 120 $NODE dist/cli.js bench --op decode_attention --variants --dtype f16 --shape len=544 --reps 10 $D --json $R/decode-stages.json > $R/decode-stages.txt 2>&1
echo "decode_attention exit $?"; grep -E "^decode_attention " $R/decode-stages.txt | grep -v "  " | sed 's/(deep: ~1056 workgroups, splits ≥ 128 keys, 4 keys in flight a team)//'
tar -C $R -czf $OUT/results.tgz .
