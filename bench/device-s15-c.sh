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
# Where the 1B decode step's time goes (call B's first rows, while the call has room): the
# cache write as kv_cache_copy's own dispatch again (run S16's fusion off); every
# dispatch cut to its first workgroup (the launches' own floor; wrong tokens), and decode
# attention pinned to more, shorter splits with more keys in flight (correct results).
for v in PMETAL_NORM_QKV_CACHE=0 PMETAL_BENCH_ONE_WORKGROUP=1 PMETAL_DECODE_ATTENTION_VARIANT=latency PMETAL_DECODE_PIN=u=2,splits=17; do
  room 500 "decode $v" || break
  env $v timeout 50 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/decode-${v//[=,]/-}.txt | head -1
done
