#!/usr/bin/env bash
# Device call (run S15 call C): issue 15's whole-model table again with this run's kernels
# (flash attention's rotated S columns and late-first blocks, the balanced grids) and the copy
# yardstick on a balanced grid — pmetal and PyTorch + transformers (+ peft) in the same call:
# Llama-3.2-1B f16 prefill 2048, decode B 1 and 16, LoRA training r 16 at 2048; the 8B prefill
# and decode. Steps are skipped as the call nears 560 s (`room`).
set -u
source bench/device_common.sh
pm 1b 150 --model llama-1b --phase prefill,decode,train --batch 1,16 --max-grad-norm 1
pt torch-1b 150 --model llama-1b --phase prefill,decode,train
pm 8b 200 --model llama-8b --phase prefill,decode --batch 1,16
