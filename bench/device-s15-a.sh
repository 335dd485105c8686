#!/usr/bin/env bash
# Device call (run S15 call A): quick conformance of the S14 defaults that had not met an H100
# (quantized_gemm's qgemv picks, js's loads in flight) and of flash attention with its lanes'
# rotated S columns (fa_sg_rot.wgsl, new default); the attention kernels against the plain
# order (PMETAL_FA_SGMAT_SWIZZLE=0) at every bench shape; the 1B prefill profile.
set -u
source bench/device_common.sh
timeout 240 $NODE dist/cli.js conformance --quick --op quantized_gemm,fused_distill_loss,flash_attention_forward,flash_attention_backward --backend webgpu $D > $R/conformance.txt 2>&1
echo "conformance exit $? (${SECONDS} s)"; grep -E "FAIL|passed" $R/conformance.txt | tail -8
timeout 120 $NODE dist/cli.js bench --op flash_attention_forward --variants --variant "default,SWIZZLE,LATE_FIRST,NSG=4" --tier subgroup-matrix --dtype f16 --reps 10 $D > $R/fa-fwd.txt 2>&1
echo "fa fwd exit $? (${SECONDS} s)"; grep -E "^flash_attention_forward f16" $R/fa-fwd.txt | head -20
if room 300 "fa bwd"; then
  timeout 100 $NODE dist/cli.js bench --op flash_attention_backward --variants --variant "default,SWIZZLE,BT=" --tier subgroup-matrix --dtype f16 --reps 5 $D > $R/fa-bwd.txt 2>&1
  echo "fa bwd exit $? (${SECONDS} s)"; grep -E "^flash_attention_backward f16" $R/fa-bwd.txt | head -20
fi
if room 330 "1b profile"; then
  timeout 90 $NODE dist/cli.js bench --model llama-1b --phase prefill --profile $D > $R/1b-profile.txt 2>&1
  echo "1b profile exit $? (${SECONDS} s)"; grep -vE "^\s*$" $R/1b-profile.txt | head -60
fi
