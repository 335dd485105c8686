#!/usr/bin/env bash
# Device call (run S8): the 1B model's decode (B = 1 and 16) and LoRA train phases with the host
# split per timed call and a CPU profile of the timed calls (--cpu-profile), then 8B decode.
# Output: $OUT/host-1b.{txt,json}, $OUT/cpu.tgz, $OUT/decode-8b.{txt,json}.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
mkdir -p /tmp/cpu
timeout ${H1_T:-260} $NODE dist/cli.js bench --model llama-1b --phase ${H1_PHASES:-decode,train} --batch 1,16 --steps 32 --train-steps 3 --decode-loop ${H1_LOOPS:-pipelined2} --copy-mib 256 --toggles $T --disable-toggles timestamp_quantization --cpu-profile /tmp/cpu --json $OUT/host-1b.json > $OUT/host-1b.txt 2>&1
echo "1b exit $?"; grep -v Warning $OUT/host-1b.txt | tail -14
tar -C /tmp/cpu -czf $OUT/cpu.tgz .
if [ "${H8:-1}" = 1 ]; then
  timeout ${H8_T:-200} $NODE dist/cli.js bench --model llama-8b --phase decode --batch 1,16 --steps 16 --copy-mib 0 --toggles $T --disable-toggles timestamp_quantization --json $OUT/decode-8b.json > $OUT/decode-8b.txt 2>&1
  echo "8b exit $?"; grep -v Warning $OUT/decode-8b.txt | tail -10
fi
