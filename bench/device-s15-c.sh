#!/usr/bin/env bash
# Device call (run S15 call C): issue 15's whole-model table again with this run's kernels
# (flash attention's rotated S columns and late-first blocks, the balanced grids) and the copy
# yardstick on a balanced grid — pmetal and PyTorch + transformers (+ peft) in the same call:
# Llama-3.2-1B f16 prefill 2048, decode B 1 and 16, LoRA training r 16 at 2048; the 8B prefill
# and decode. Steps are skipped as the call nears 560 s (`room`).
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
room() { if [ $SECONDS -gt $1 ]; then echo "skipped (at ${SECONDS} s): $2"; return 1; fi; }
pm() { # name timeout args...
  local name=$1 t=$2; shift 2
  room $((560 - t)) "pmetal $name" || return 0
  timeout $t $NODE dist/cli.js bench "$@" $D --json $R/$name.json > $R/$name.txt 2>&1
  echo "== pmetal $name exit $? (${SECONDS} s)"; grep -E "^(prefill|decode|train) |^copy kernel" $R/$name.txt | head -8
}
pt() { # name timeout args...
  local name=$1 t=$2; shift 2
  room $((560 - t)) "torch $name" || return 0
  timeout $t python3 bench/peers/torch_models.py "$@" > $R/$name.json 2> $R/$name.err
  echo "== torch $name exit $? (${SECONDS} s)"; head -c 1500 $R/$name.json; echo; tail -2 $R/$name.err
}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
pm 1b 150 --model llama-1b --phase prefill,decode,train --batch 1,16 --max-grad-norm 1
pt torch-1b 150 --model llama-1b --phase prefill,decode,train
pm 8b 200 --model llama-8b --phase prefill,decode --batch 1,16
