#!/usr/bin/env bash
# Device call (run S15 call A), most wanted first (each later step runs only with room): quick
# conformance of flash attention (forward, backward) on every webgpu tier with the lanes'
# rotated S columns and late-first row blocks (opt-in: PMETAL_FA_SGMAT_SWIZZLE=1,
# PMETAL_FA_SGMAT_LATE_FIRST=1); the forward with them against the default at every bench shape; quick conformance of the S14 defaults that had not
# met an H100 (quantized_gemm's qgemv picks, js's loads in flight); the backward's variants;
# the 1B prefill profile.
set -u
source bench/device_common.sh
PMETAL_FA_SGMAT_SWIZZLE=1 PMETAL_FA_SGMAT_LATE_FIRST=1 timeout 150 $NODE dist/cli.js conformance --quick --op flash_attention_forward,flash_attention_backward --backend webgpu $D > $R/conformance-fa.txt 2>&1
echo "conformance fa exit $? (${SECONDS} s)"; grep -E "FAIL|passed" $R/conformance-fa.txt | tail -6
if room 330 "fa fwd variants"; then
  timeout 120 $NODE dist/cli.js bench --op flash_attention_forward --variants --variant "default,SWIZZLE,LATE_FIRST" --tier subgroup-matrix --dtype f16 --reps 5 $D > $R/fa-fwd.txt 2>&1
  echo "fa fwd exit $? (${SECONDS} s)"; grep -E "^flash_attention_forward f16" $R/fa-fwd.txt | head -40
fi
if room 360 "conformance qgemm/distill"; then
  timeout 150 $NODE dist/cli.js conformance --quick --op quantized_gemm,fused_distill_loss --backend webgpu $D > $R/conformance.txt 2>&1
  echo "conformance exit $? (${SECONDS} s)"; grep -E "FAIL|passed" $R/conformance.txt | tail -6
fi
if room 400 "fa bwd variants"; then
  timeout 100 $NODE dist/cli.js bench --op flash_attention_backward --variants --variant "default,SWIZZLE,BT=" --tier subgroup-matrix --dtype f16 --reps 5 $D > $R/fa-bwd.txt 2>&1
  echo "fa bwd exit $? (${SECONDS} s)"; grep -E "^flash_attention_backward f16" $R/fa-bwd.txt | head -20
fi
if room 450 "1b profile"; then
  timeout 90 $NODE dist/cli.js bench --model llama-1b --phase prefill --profile $D > $R/1b-profile.txt 2>&1
  echo "1b profile exit $? (${SECONDS} s)"; grep -vE "^\s*$" $R/1b-profile.txt | head -40
fi
if room 480 "qgemv M=8"; then
  timeout 60 $NODE dist/cli.js bench --op quantized_gemm --variants --variant "default,wide" --tier subgroups --dtype f32,f16 --shape m=8,n=14336 --reps 10 $D > $R/qgemv-m8.txt 2>&1
  echo "qgemv m8 exit $? (${SECONDS} s)"; grep -E "^quantized_gemm" $R/qgemv-m8.txt | head -12
fi
