#!/usr/bin/env bash
# Device call (run S8 call C, H100): decode loop variants with step graphs (1B, B = 1 and 16),
# 8B decode and an 8B LoRA step with a 16 GiB buffer pool, then onnxruntime-web's attention
# peers at full shapes (f16). Everything in $OUT/results.tgz (the call returns few files).
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=/tmp/res; mkdir -p $R
timeout 90 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --steps 48 --decode-loop pipelined,pipelined2,serial --copy-mib 256 $D --json $R/decode-1b.json > $R/decode-1b.txt 2>&1
echo "1b exit $?"; grep -E "^decode" $R/decode-1b.txt | head -6
PMETAL_POOL_MIB=16384 timeout 170 $NODE dist/cli.js bench --model llama-8b --phase decode,train --batch 1,16 --decode-loop pipelined --copy-mib 256 $D --json $R/model-8b-pool16g.json > $R/model-8b-pool16g.txt 2>&1
echo "8b exit $?"; grep -E "^(decode|train) " $R/model-8b-pool16g.txt | head -6
for s in "flash_attention_forward 150" "decode_attention 120"; do
  set -- $s
  timeout $2 $NODE dist/cli.js bench --peers --peer onnxruntime-web --op $1 --dtype f16 --reps 5 $D --json $R/peers-$1.json > $R/peers-$1.txt 2>$R/peers-$1.err
  echo "peers $1 exit $?"; grep -E "^$1" $R/peers-$1.txt | head -12
done
tar -C $R -czf $OUT/results.tgz .
