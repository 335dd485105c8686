#!/usr/bin/env bash
# Device call (run S8 call E, H100): why the first decode loop of a process is slower — the
# same loop three times (200 steps each) with the SM clock sampled every 50 ms alongside.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
nvidia-smi --query-gpu=clocks.sm,utilization.gpu --format=csv,noheader -lms 50 > $OUT/clocks.txt 2>&1 &
SMI=$!
timeout 150 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 --steps 200 --decode-loop pipelined,pipelined,pipelined --copy-mib 0 $D --json $OUT/decode-3x.json > $OUT/decode-3x.txt 2>&1
echo "exit $?"; grep -E "^decode" $OUT/decode-3x.txt | head -8
kill $SMI; awk -F, '{print $1}' $OUT/clocks.txt | uniq -c | head -40
