#!/usr/bin/env bash
# Device call: a CPU profile (node --cpu-prof) of the 1B model bench's decode and train phases,
# to find where the host's time per step goes on the H100 machine (analyse with
# scripts/probes/cpuprofile_top.mjs). Output: $OUT/host-profile.tgz.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
mkdir -p /tmp/hp
timeout 300 $NODE --cpu-prof --cpu-prof-interval 200 --cpu-prof-dir=/tmp/hp dist/cli.js bench --model llama-1b --phase ${HP_PHASES:-decode,train} --batch 1 --steps 48 --train-steps 3 --decode-loop ${HP_LOOPS:-serial,pipelined} --copy-mib 0 --toggles $T --disable-toggles timestamp_quantization > /tmp/hp/bench.txt 2>&1
echo "bench exit $?"; cat /tmp/hp/bench.txt | grep -v Warning | head -20
tar -C /tmp/hp -czf $OUT/host-profile.tgz .
ls -la $OUT
