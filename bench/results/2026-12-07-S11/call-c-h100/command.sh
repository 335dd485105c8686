#!/usr/bin/env bash
# Device call (run S11 call C): device-s11-a.sh cut to fit what failed starts left of the
# budget — correctness of this run's new matrix-unit paths (the K-loop LoRA term, gemm with
# fragments straight from the buffers, flash attention's register prefetch), then their times
# against the defaults: gemm and fused_lora_forward at the Llama MLP shape (r = 16), flash
# attention at D = 64, the teamed GEMV at M = 8, fused_mlp. Outputs straight into $OUT.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
PMETAL_LORA_GEMM_VARIANT=fused timeout 60 $NODE dist/cli.js conformance --quick --backend webgpu --tier subgroup-matrix --op fused_lora_forward,fused_mlp,fused_lora_backward,fused_mlp_backward --toggles $T --json $R/conf.json > $R/conf.txt 2>&1
echo "conformance lora/mlp exit $?"; grep -E "^FAIL" $R/conf.txt | head -8; tail -1 $R/conf.txt
PMETAL_GEMM_TUNE=direct=1 timeout 40 $NODE dist/cli.js conformance --quick --backend webgpu --tier subgroup-matrix --op gemm --dtype f16 --toggles $T > $R/conf-gemm-direct.txt 2>&1
echo "conformance gemm direct exit $?"; grep -E "^FAIL" $R/conf-gemm-direct.txt | head -8; tail -1 $R/conf-gemm-direct.txt
PMETAL_FA_SGMAT_PREFETCH=1 timeout 40 $NODE dist/cli.js conformance --quick --backend webgpu --tier subgroup-matrix --op flash_attention_forward --dtype f16 --toggles $T > $R/conf-fa-prefetch.txt 2>&1
echo "conformance fa prefetch exit $?"; grep -E "^FAIL" $R/conf-fa-prefetch.txt | head -8; tail -1 $R/conf-fa-prefetch.txt
timeout 45 $NODE dist/cli.js bench --op gemm --variants --variant default,direct --dtype f16 --shape m=4096,n=14336,k=4096 --reps 10 $D --json $R/gemm.json > $R/gemm.txt 2>&1
echo "gemm exit $?"; grep -E "^gemm " $R/gemm.txt | head -4
timeout 50 $NODE dist/cli.js bench --op fused_lora_forward --variants --dtype f16 --shape N=14336,r=16 --reps 10 $D --json $R/lora.json > $R/lora.txt 2>&1
echo "lora exit $?"; grep -E "^fused_lora_forward " $R/lora.txt | head -6
timeout 50 $NODE dist/cli.js bench --op flash_attention_forward --variants --dtype f16 --shape d=64, --reps 5 $D --json $R/fa.json > $R/fa.txt 2>&1
echo "fa exit $?"; grep -E "^flash_attention_forward " $R/fa.txt | head -16
timeout 25 $NODE dist/cli.js bench --op gemm --variants --variant default,teams --dtype f16 --shape m=8,n --reps 10 $D --json $R/gemv-m8.json > $R/gemv-m8.txt 2>&1
echo "gemv exit $?"; grep -E "^gemm " $R/gemv-m8.txt | head -8
timeout 50 $NODE dist/cli.js bench --op fused_mlp --variants --variant default,fused --dtype f16 --shape T=4096 --reps 5 $D --json $R/mlp.json > $R/mlp.txt 2>&1
echo "mlp exit $?"; grep -E "^fused_mlp " $R/mlp.txt | head -4
