#!/usr/bin/env bash
# Device call: the 1B LoRA step with the default buffer pool (4 GiB) and with PMETAL_POOL_MIB,
# back to back — whether the step's activations churn the pool (new buffers per step, with their
# bind groups). Output: $OUT/pool-{default,big}.txt.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
for v in default big; do
  if [ $v = big ]; then export PMETAL_POOL_MIB=${POOL_MIB:-16384}; fi
  timeout ${POOL_T:-100} $NODE dist/cli.js bench --model llama-1b --phase ${POOL_PHASES:-train} --batch 1 --steps 24 --train-steps 3 --copy-mib 0 --toggles $T --disable-toggles timestamp_quantization --json $OUT/pool-$v.json > $OUT/pool-$v.txt 2>&1
  echo "pool $v exit $?"; grep -E "^(decode|train) " $OUT/pool-$v.txt
done
