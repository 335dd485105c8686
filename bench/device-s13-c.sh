#!/usr/bin/env bash
# Device call (run S13 call C, after call A on the same machine): decode attention's key
# prefetch (PMETAL_DECODE_PREFETCH=1) — its conformance on the GPU (loops unrolled there, rolled on
# lavapipe), then timed against the default at B 1 / 16 and 8192 keys and at the 1B model's
# 544-key step. Key lines to stdout; whole outputs into $OUT/prefetch.txt.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
PMETAL_DECODE_PREFETCH=1 timeout 120 $NODE dist/cli.js conformance --quick --backend webgpu --op decode_attention --toggles $T > $R/conf-prefetch.txt 2>&1
echo "conformance decode prefetch exit $?"; grep -E "^FAIL" $R/conf-prefetch.txt | head -5; tail -1 $R/conf-prefetch.txt
for shape in b=1,t=1,len=8192,hq=32,hkv=8,d=128,smax b=16,t=1,len=8192,hq=32,hkv=8,d=128,smax b=1,t=1,len=544,hq=32,hkv=8,d=64,smax b=16,t=1,len=544,hq=32,hkv=8,d=64,smax; do
  timeout 60 $NODE dist/cli.js bench --op decode_attention --variants --variant "default,prefetch: group,prefetch: rows1" --dtype f16 --shape "$shape" --reps 10 $D > /tmp/v.txt 2>&1
  echo "== $shape exit $?"; grep -E "^decode_attention f16" /tmp/v.txt | head -8; cat /tmp/v.txt >> $R/prefetch.txt
done
