#!/usr/bin/env bash
# Device call (run S9 call C, H100): what one dependent dispatch costs on this stack
# (scripts/probes/dispatch_floor.mjs), and decode attention's pinned plans at the model bench's
# decode shape (PMETAL_DECODE_PIN through bench --variants). Output in $OUT/results.tgz.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=/tmp/res; mkdir -p $R
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 60 $NODE scripts/probes/dispatch_floor.mjs 2000 > $R/dispatch-floor.txt 2>&1
echo "floor exit $?"; grep -v Warning $R/dispatch-floor.txt
timeout 150 $NODE dist/cli.js bench --op decode_attention --variants --dtype f16 --shape len=544,hq=32,hkv=8,d=64 --reps 10 $D --json $R/decode-pins.json > $R/decode-pins.txt 2>&1
echo "decode_attention exit $?"; grep -E "^decode_attention " $R/decode-pins.txt | grep -v "  " | sed 's/(deep: ~1056 workgroups, splits ≥ 128 keys, 4 keys in flight a team)//'
tar -C $R -czf $OUT/results.tgz .
