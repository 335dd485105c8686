#!/usr/bin/env bash
# Device call (run S14 call B): after the session's branches merged — the H100 quick
# conformance of the training and generation ops on every webgpu tier, then the generation
# kernels' new variants (the sampler at B 32, the 4-bit decode GEMV, the dequantize-then-gemm
# prefill), the JS distillation's bounded-rows variant and the other losses, PyTorch's
# training rows in the same call.
# Steps are skipped as the call nears 540 s (`room`).
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
room() { if [ $SECONDS -gt $1 ]; then echo "skipped (at ${SECONDS} s): $2"; return 1; fi; }
v() { # op shape variants timeout [tier]
  room $((540 - $4)) "variants $1 $2" || return 0
  timeout $4 $NODE dist/cli.js bench --op $1 --variants --variant "$3" --tier ${5:-subgroup-matrix,subgroups} --dtype f16 --shape "$2" --reps 10 $D > /tmp/v.txt 2>&1
  echo "== variants $1 $2 exit $? (${SECONDS} s)"; grep -E "^$1 f16" /tmp/v.txt | head -24; cat /tmp/v.txt >> $R/variants.txt
}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
timeout 200 $NODE dist/cli.js conformance --quick --op fused_lora_forward,fused_lora_backward,fused_norm_lora,fused_norm_lora_backward,fused_mlp,fused_mlp_backward,dw_gemm_accum,fused_adamw_step,embedding,embedding_backward,fused_distill_loss,fused_distill_loss_backward,sample,quantized_gemm,dequantize --backend webgpu $D --json $R/conformance.json > $R/conformance.txt 2>&1
echo "conformance exit $? (${SECONDS} s)"; grep -E "FAIL|passed" $R/conformance.txt | tail -6
[ -f bench/device-s14-b-variants.sh ] && source bench/device-s14-b-variants.sh
if room 420 "torch training"; then
  timeout 110 python3 bench/peers/torch_ceiling.py training > $R/torch-training.json 2> $R/torch-training.err
  echo "torch exit $? (${SECONDS} s)"; grep -E '"op"|"shape"|"ms"' $R/torch-training.json | paste - - - | head -30; tail -2 $R/torch-training.err
fi
