#!/usr/bin/env bash
# Device call (run S16 call A), most wanted first (each later step runs only with room): quick
# conformance of flash attention (forward, backward) on every webgpu tier with the lanes'
# rotated S columns and late-first row blocks (opt-in since S15); the forward with them against
# the default at every bench shape; the 1B decode step with the KV-cache write inside
# fused_norm_qkv (the new default) against kv_cache_copy's own dispatch, and decode attention's
# `latency` plan; fused_norm_qkv's rms_norm + GEMV plan at T = 16 against the separate launches; quick conformance of fused_norm_qkv (its cache write) and of the S14 defaults
# that had not met an H100 (quantized_gemm's qgemv picks, js's loads in flight).
set -u
source bench/device_common.sh
for v in PMETAL_NORM_QKV_CACHE=1 PMETAL_NORM_QKV_CACHE=0 PMETAL_DECODE_ATTENTION_VARIANT=latency; do
  room 470 "decode $v" || break
  env $v timeout 50 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 $D > $R/decode-${v//[=,]/-}.txt 2>&1
  echo "== $v exit $? (${SECONDS} s)"; grep -E "^decode +1 |^copy kernel" $R/decode-${v//[=,]/-}.txt | head -2
done
PMETAL_FA_SGMAT_SWIZZLE=1 PMETAL_FA_SGMAT_LATE_FIRST=1 timeout 150 $NODE dist/cli.js conformance --quick --op flash_attention_forward,flash_attention_backward --backend webgpu $D > $R/conformance-fa.txt 2>&1
echo "conformance fa exit $? (${SECONDS} s)"; grep -E "FAIL|passed" $R/conformance-fa.txt | tail -6
if room 330 "fa fwd variants"; then
  timeout 120 $NODE dist/cli.js bench --op flash_attention_forward --variants --variant "default,SWIZZLE,LATE_FIRST" --tier subgroup-matrix --dtype f16 --reps 5 $D > $R/fa-fwd.txt 2>&1
  echo "fa fwd exit $? (${SECONDS} s)"; grep -E "^flash_attention_forward f16" $R/fa-fwd.txt | head -40
fi
if room 420 "norm_qkv variants"; then
  timeout 60 $NODE dist/cli.js bench --op fused_norm_qkv --variants --variant "default,gemv4" --dtype f16 --reps 10 $D > $R/norm-qkv.txt 2>&1
  echo "norm_qkv exit $? (${SECONDS} s)"; grep -E "^fused_norm_qkv f16" $R/norm-qkv.txt | head -12
fi
if room 450 "conformance qkv/qgemm/distill"; then
  timeout 100 $NODE dist/cli.js conformance --quick --op fused_norm_qkv,quantized_gemm,fused_distill_loss --backend webgpu $D > $R/conformance.txt 2>&1
  echo "conformance exit $? (${SECONDS} s)"; grep -E "FAIL|passed" $R/conformance.txt | tail -6
fi
