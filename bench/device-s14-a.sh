#!/usr/bin/env bash
# Device call (run S14 call A): the LoRA term in gemm_sgmat_vec's epilogue
# (PMETAL_LORA_GEMM_VARIANT=epi, gemm_sgmat_lora_epi.wgsl) — its quick conformance on the
# subgroup-matrix tier first (the H100 is the only place it runs), then its time against the
# default three-launch plan in fused_lora_forward / backward and fused_mlp / backward at the
# issue's shapes, then the 1B LoRA step with it, then the 8B LoRA step under the adaptive pool
# (issue 15). Steps are skipped as the call nears 520 s (`room`).
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
room() { if [ $SECONDS -gt $1 ]; then echo "skipped (at ${SECONDS} s): $2"; return 1; fi; }
v() { # op shape variants timeout
  room $((520 - $4)) "variants $1 $2" || return 0
  timeout $4 $NODE dist/cli.js bench --op $1 --variants --variant "$3" --tier subgroup-matrix --dtype f16 --shape "$2" --reps 10 $D > /tmp/v.txt 2>&1
  echo "== variants $1 $2 exit $? (${SECONDS} s)"; grep -E "^$1 " /tmp/v.txt | head -12; cat /tmp/v.txt >> $R/variants.txt
}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
PMETAL_LORA_GEMM_VARIANT=epi timeout 150 $NODE dist/cli.js conformance --quick --op fused_lora_forward,fused_lora_backward,fused_mlp,fused_mlp_backward --backend webgpu --tier subgroup-matrix $D > $R/conformance-epi.txt 2>&1
echo "conformance epi exit $? (${SECONDS} s)"; grep -E "FAIL|✗|passed" $R/conformance-epi.txt | tail -8
v fused_lora_forward T=4096,K=4096,N=14336,r=16 "default,epilogue" 45
v fused_mlp T=4096 "default (gate,epilogue" 60
v fused_lora_backward T=4096,K=4096,N=14336,r=16 "default (split,epilogue" 45
v fused_mlp_backward T=4096 "default (split,epilogue" 60
if room 400 "1b train"; then
  for vv in auto epi; do
    PMETAL_LORA_GEMM_VARIANT=$vv timeout 60 $NODE dist/cli.js bench --model llama-1b --phase train --max-grad-norm 1 $D --json $R/train-1b-$vv.json > $R/train-1b-$vv.txt 2>&1
    echo "1b train $vv exit $? (${SECONDS} s)"; grep -E "^train" $R/train-1b-$vv.txt | head -2
  done
fi
if room 340 "8b train"; then
  timeout 170 $NODE dist/cli.js bench --model llama-8b --phase train --max-grad-norm 1 $D --json $R/train-8b.json > $R/train-8b.txt 2>&1
  echo "8b train exit $? (${SECONDS} s)"; grep -E "^train" $R/train-8b.txt | head -4; tail -3 $R/train-8b.txt
fi
