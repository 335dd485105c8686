#!/usr/bin/env bash
# Device call (run S14 call D): the ranked sampler's H100 conformance and times, then issue 15's
# whole-model table refreshed with today's kernels —
# pmetal and PyTorch + transformers (+ peft) in the same call: Llama-3.2-1B f16 (prefill 2048,
# decode B 1 and 16, LoRA training r 16 at 2048) and mlx4 (decode, prefill), then the 8B shape
# as far as the call's time allows. Steps are skipped as the call nears 560 s (`room`).
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
room() { if [ $SECONDS -gt $1 ]; then echo "skipped (at ${SECONDS} s): $2"; return 1; fi; }
pm() { # name timeout args...
  local name=$1 t=$2; shift 2
  room $((560 - t)) "pmetal $name" || return 0
  timeout $t $NODE dist/cli.js bench "$@" $D --json $R/$name.json > $R/$name.txt 2>&1
  echo "== pmetal $name exit $? (${SECONDS} s)"; grep -E "^(prefill|decode|train) " $R/$name.txt | head -8
}
pt() { # name timeout args...
  local name=$1 t=$2; shift 2
  room $((560 - t)) "torch $name" || return 0
  timeout $t python3 bench/peers/torch_models.py "$@" > $R/$name.json 2> $R/$name.err
  echo "== torch $name exit $? (${SECONDS} s)"; head -c 1500 $R/$name.json; echo; tail -2 $R/$name.err
}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
# The ranked sampler (now the default): H100 conformance on every tier, then its time against
# plain and bound, and its per-pass profile at B 32.
timeout 60 $NODE dist/cli.js conformance --quick --op sample --backend webgpu $D > $R/conformance-sample.txt 2>&1
echo "sample conformance exit $? (${SECONDS} s)"; grep -E "FAIL|passed" $R/conformance-sample.txt | tail -3
timeout 90 $NODE dist/cli.js bench --op sample --variants --variant default,plain,bound --tier subgroups --dtype f16 --reps 10 $D > $R/sample-variants.txt 2>&1
echo "sample variants exit $? (${SECONDS} s)"; grep -E "^sample f16" $R/sample-variants.txt | head -32
timeout 40 $NODE dist/cli.js bench --op sample --profile --tier subgroups --dtype f16 --shape "b=32,v=128256,topK=50" --reps 10 $D > $R/sample-profile.txt 2>&1
echo "sample profile exit $? (${SECONDS} s)"; grep -E "^[0-9]+ |dispatches" $R/sample-profile.txt | head -8
pm 1b 150 --model llama-1b --phase prefill,decode,train --batch 1,16 --max-grad-norm 1 --copy-mib 256
pt torch-1b 150 --model llama-1b --phase prefill,decode,train
pm 1b-mlx4 80 --model llama-1b --quant mlx4 --phase prefill,decode --batch 1,16 --copy-mib 256
pm 8b 200 --model llama-8b --phase prefill,decode --batch 1,16 --copy-mib 256
