#!/usr/bin/env bash
# Device call (run S8, H100): quick conformance of the ops this run changed on every webgpu
# tier, then the model bench — 1B prefill / decode (step graphs on, and off) / LoRA train, 8B
# decode and train — and fused_mlp's decode variants. Output: $OUT/*.txt, *.json, cpu.tgz.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout ${CONF_S:-110} $NODE dist/cli.js conformance --quick --backend webgpu --op rope,rope_backward,fused_mlp,fused_adamw_step --toggles $T --json $OUT/conformance.json > $OUT/conformance.txt 2>&1
echo "conformance exit $?"; tail -3 $OUT/conformance.txt
mkdir -p /tmp/cpu
timeout ${M1_T:-170} $NODE dist/cli.js bench --model llama-1b --phase prefill,decode,train --batch 1,16 --decode-loop pipelined2,pipelined --copy-mib 256 $D --cpu-profile /tmp/cpu --json $OUT/model-1b.json > $OUT/model-1b.txt 2>&1
echo "1b exit $?"; grep -v Warning $OUT/model-1b.txt | tail -16
PMETAL_DECODE_GRAPH=0 timeout ${M0_T:-70} $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1,16 --decode-loop pipelined2 --copy-mib 0 $D --json $OUT/model-1b-nograph.json > $OUT/model-1b-nograph.txt 2>&1
echo "1b nograph exit $?"; grep -v Warning $OUT/model-1b-nograph.txt | grep -E "^decode" 
tar -C /tmp/cpu -czf $OUT/cpu.tgz .
timeout ${M8_T:-150} $NODE dist/cli.js bench --model llama-8b --phase decode,train --batch 1,16 --decode-loop pipelined2 --copy-mib 0 $D --json $OUT/model-8b.json > $OUT/model-8b.txt 2>&1
echo "8b exit $?"; grep -v Warning $OUT/model-8b.txt | tail -12
timeout ${MLP_T:-70} $NODE dist/cli.js bench --op fused_mlp --dtype f16 --shape T=1,K=4096 --variants --reps 5 $D --json $OUT/mlp-t1.json > $OUT/mlp-t1.txt 2>&1
echo "mlp exit $?"; grep -E "^fused_mlp" $OUT/mlp-t1.txt | head -8
