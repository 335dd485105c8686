# Sourced by bench/device-s14-b.sh (its v and room): the session's new variants.
# 4-bit decode at M = 1: qgemv_sg (default) against the three qgemv_wide kernels, LM head first.
v quantized_gemm m=1,n=128256 "default (qgemv_sg,qgemv_wide" 70 subgroup-matrix
v quantized_gemm m=1,n=14336 "default (qgemv_sg,qgemv_wide" 50 subgroup-matrix
v quantized_gemm m=1,n=4096 "default (qgemv_sg,qgemv_wide" 50 subgroup-matrix
# M = 8 (the wide kernels cover M ≤ 4): qgemv_sg against qgemv_rows and 128 invocations.
v quantized_gemm m=8,n "default (qgemv_sg,qgemv_rows,128 invocations" 60 subgroup-matrix
# js distillation on a persistent grid (G workgroups walk the rows; U word pairs in flight).
v fused_distill_loss js "default,G=32 (,G=48 (,G=64 (,G=96 (,G=132 (,G=264 (,INFLIGHT=4),U=8" 110 subgroups
# Every loss at the default, f16 and f32 (bytes moved: both logit tensors once).
if room 480 "distill losses"; then
  timeout 60 $NODE dist/cli.js bench --op fused_distill_loss --tier subgroups --dtype f16,f32 --reps 10 $D --json $R/distill.json > $R/distill.txt 2>&1
  echo "== distill exit $? (${SECONDS} s)"; grep -E "^fused_distill_loss +webgpu" $R/distill.txt | head -10
fi
