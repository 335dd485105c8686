#!/usr/bin/env bash
# Device call (run S11 call A), most wanted first: the LoRA term inside the base product's K
# loop (lora_gemm.ts) — quick conformance of the LoRA / MLP ops on every webgpu tier, then
# fused_lora_forward against the composed launches and the plain gemm of the same shape in this
# call; flash attention's D = 64 stage ceiling (the 1B prefill's) and its register prefetch of
# the next K/V tile (conformance and time); gemm_gemv_rows in teams (a's words from L1 for 8 or
# 16 rows of b) at M = 8, 16, 1; fused_mlp with and without the K-loop LoRA term; then what S10
# prepared and never ran: issue 12's bandwidth rows and issue 14's 4-bit decode GEMV as a
# fraction of copy. Outputs straight into $OUT (a call cut short returns what it wrote).
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
PMETAL_LORA_GEMM_VARIANT=fused timeout 100 $NODE dist/cli.js conformance --quick --backend webgpu --op fused_lora_forward,fused_mlp,fused_lora_backward,fused_mlp_backward --toggles $T --json $R/conf.json > $R/conf.txt 2>&1
echo "conformance exit $?"; grep -E "^FAIL" $R/conf.txt | head -8; tail -1 $R/conf.txt
timeout 40 $NODE dist/cli.js bench --op gemm --dtype f16 --shape m=4096,n=14336,k=4096 --reps 10 $D > $R/gemm.txt 2>&1
echo "gemm exit $?"; grep -E "^gemm " $R/gemm.txt | head -4
timeout 90 $NODE dist/cli.js bench --op fused_lora_forward --variants --dtype f16 --reps 10 $D --json $R/lora.json > $R/lora.txt 2>&1
echo "lora exit $?"; grep -E "^fused_lora_forward " $R/lora.txt | head -20
PMETAL_FA_SGMAT_PREFETCH=1 timeout 60 $NODE dist/cli.js conformance --quick --backend webgpu --tier subgroup-matrix --op flash_attention_forward --toggles $T --json $R/conf-fa-prefetch.json > $R/conf-fa-prefetch.txt 2>&1
echo "conformance fa prefetch exit $?"; grep -E "^FAIL" $R/conf-fa-prefetch.txt | head -8; tail -1 $R/conf-fa-prefetch.txt
timeout 80 $NODE dist/cli.js bench --op flash_attention_forward --variants --dtype f16 --shape d=64, --reps 5 $D --json $R/fa.json > $R/fa.txt 2>&1
echo "fa exit $?"; grep -E "^flash_attention_forward " $R/fa.txt | head -16
for m in 8 16 1; do
  timeout 30 $NODE dist/cli.js bench --op gemm --variants --variant default,256,teams --dtype f16 --shape m=$m,n --reps 10 $D --json $R/gemv-m$m.json > $R/gemv-m$m.txt 2>&1
  echo "gemv m=$m exit $?"; grep -E "^gemm " $R/gemv-m$m.txt | head -8
done
timeout 40 $NODE dist/cli.js bench --op gemm --dtype f16 --shape m=4096,n=4096,k=14336 --reps 10 $D >> $R/gemm.txt 2>&1
timeout 90 $NODE dist/cli.js bench --op fused_mlp --variants --variant default,fused --dtype f16 --shape T=4096 --reps 5 $D --json $R/mlp.json > $R/mlp.txt 2>&1
echo "mlp exit $?"; grep -E "^fused_mlp " $R/mlp.txt | head -8; grep -E "^gemm " $R/gemm.txt | tail -2
timeout 100 $NODE dist/cli.js bench --op fused_adamw_step,embedding_backward,fused_distill_loss,fused_distill_loss_backward --reps 10 $D --json $R/train-bw.json > $R/train-bw.txt 2>&1
echo "train-bw exit $?"; grep -vE "^(fused_|embedding)[a-z_]* [a-z0-9]+ .*: " $R/train-bw.txt | head -60
timeout 40 $NODE dist/cli.js bench --op quantized_gemm --dtype f16 --shape m=1, --reps 10 $D --json $R/qgemv.json > $R/qgemv.txt 2>&1
echo "qgemv exit $?"; grep -E "^quantized_gemm " $R/qgemv.txt | head -20
