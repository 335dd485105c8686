#!/usr/bin/env bash
# The closing H100 call (device tool; carry .gpu and dist):
#   source .gpu/prelude.sh && tar -xzf .gpu/node_modules.tgz && bash bench/device-final.sh
# Quick conformance on every webgpu tier (every op in the registry), differential fuzzing in
# chunks of FUZZ_CHUNK cases until FUZZ_S seconds are spent, the host cost of small ops, the
# decode-shaped gemm rows, the bench shapes of NEW_OPS, the PyTorch sections TORCH_SECTIONS and
# the model fixtures script FIXTURES (run with its output dir) — JSON under $OUT. HOST=0 skips
# the host-cost and GEMV rows; BENCHES runs several benches, each with its own limit; CONF_ARGS narrows the conformance run, NEW_ARGS the NEW_OPS bench. Everything written comes back as $OUT/results.tgz (the device
# tool returns only a few files).
set -u
FINAL_OUT=$OUT; OUT=$(mktemp -d); trap 'tar -C $OUT -czf $FINAL_OUT/results.tgz .' EXIT
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
B="--toggles $T --disable-toggles timestamp_quantization"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
if [ -n "${FIXTURES:-}" ]; then
  python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
  python3 -c "import peft; print('peft', peft.__version__)" 2>&1 | tail -1
  python3 -c "import tokenizers; print('tokenizers', tokenizers.__version__)" 2>&1 | tail -1
  # ~40 files 3 folders deep: one tarball comes back ($OUT keeps 8 files, 2 folders deep).
  mkdir -p /tmp/fixtures && timeout ${FIXTURES_S:-180} python3 $FIXTURES /tmp/fixtures --tar $OUT/fixtures.tgz > $OUT/fixtures.txt 2>&1
  echo "fixtures exit $?"; tail -20 $OUT/fixtures.txt; du -sh /tmp/fixtures
fi
timeout ${CONF_S:-150} $NODE dist/cli.js conformance --quick --backend webgpu --toggles $T ${CONF_ARGS:-} --json $OUT/conformance.json > $OUT/conformance.txt 2>&1
echo "conformance exit $?"; grep -E 'FAIL|passed' $OUT/conformance.txt | head -20
# Fuzzing is host-bound (the float64 reference, pipeline creation): FUZZ_PAR processes with
# their own seeds share the GPU, each FUZZ_CHUNK cases a round, until FUZZ_S seconds are spent.
end=$(( $(date +%s) + ${FUZZ_S:-200} )); seed=${FUZZ_SEED0:-1}
while [ $(date +%s) -lt $end ]; do
  for i in $(seq ${FUZZ_PAR:-1}); do
    timeout ${FUZZ_T:-400} $NODE dist/cli.js fuzz --backend webgpu --toggles $T --cases ${FUZZ_CHUNK:-2000} --seed $seed --json $OUT/fuzz-$seed.json > $OUT/fuzz-$seed.txt 2>/dev/null &
    seed=$((seed + 1))
  done
  wait
done
for f in $OUT/fuzz-*.txt; do echo "$(basename $f .txt): $(tail -1 $f)"; grep -A1 '^FAIL' $f | head -6; done
if [ "${HOST:-1}" = 1 ]; then
  timeout 90 $NODE dist/cli.js bench --host $B --json $OUT/host.json 2>/dev/null; echo "host exit $?"
  for m in 1 8; do
    timeout 60 $NODE dist/cli.js bench --op gemm --shape m=$m,n= --dtype f16,f32 $B --reps 10 --json $OUT/gemv-m$m.json 2>/dev/null | grep -E "^gemm"; echo "gemv m=$m exit $?"
  done
fi
if [ -n "${NEW_OPS:-}" ]; then
  timeout ${NEW_S:-120} $NODE dist/cli.js bench --op $NEW_OPS $B --reps 5 ${NEW_ARGS:-} --json $OUT/new-ops.json > $OUT/new-ops.txt 2>$OUT/new-ops.err
  echo "new ops exit $?"; cat $OUT/new-ops.txt | cut -c1-200
fi
# BENCHES: bench runs separated by ';' (e.g. "--op decode_attention --dtype f16;--op sample"),
# each under its own BENCH_T-second limit, numbered bench-<i>.json.
if [ -n "${BENCHES:-}" ]; then
  i=0; IFS=';' read -ra SETS <<< "$BENCHES"
  for set in "${SETS[@]}"; do
    i=$((i + 1))
    timeout ${BENCH_T:-90} $NODE dist/cli.js bench $set $B --reps 5 --json $OUT/bench-$i.json > $OUT/bench-$i.txt 2>$OUT/bench-$i.err
    echo "bench $i ($set) exit $?"; cut -c1-160 $OUT/bench-$i.txt | grep -v "^$" | head -40
  done
fi
if [ -n "${TORCH_SECTIONS:-}" ]; then
  timeout ${TORCH_S:-200} python3 bench/peers/torch_ceiling.py $TORCH_SECTIONS > $OUT/torch.json 2>$OUT/torch.err
  echo "torch exit $?"; tail -3 $OUT/torch.err
fi
# TORCH_MODELS: runs of bench/peers/torch_models.py (the PyTorch twin of `bench --model`)
# separated by ';' (e.g. "--model llama-1b;--model llama-8b"), each under TORCH_MODELS_T
# seconds, torch-models-<i>.json.
if [ -n "${TORCH_MODELS:-}" ]; then
  i=0; IFS=';' read -ra SETS <<< "$TORCH_MODELS"
  for set in "${SETS[@]}"; do
    i=$((i + 1))
    timeout ${TORCH_MODELS_T:-240} python3 bench/peers/torch_models.py $set > $OUT/torch-models-$i.json 2>$OUT/torch-models-$i.err
    echo "torch models $i ($set) exit $?"; cat $OUT/torch-models-$i.err | grep -v Warning | tail -8
  done
fi
# PEFT_CHECK=1: a LoRA run of `pmetal finetune` on the llama fixture (webgpu), then peft loads
# the adapter and compares its logits with pmetal's (scripts/fixtures/peft_load_check.py).
if [ "${PEFT_CHECK:-0}" = 1 ]; then
  printf '%s\n' '{"text": "The quick brown fox jumps over the lazy dog."}' '{"text": "How are you today?"}' > /tmp/peft-train.jsonl
  timeout 120 $NODE dist/cli.js finetune --model test/fixtures/models/llama --data /tmp/peft-train.jsonl --out /tmp/peft-adapter --epochs 3 --lora-r 4 --lora-alpha 8 --lr 1e-2 --batch-size 1 --max-seq-len 48 --toggles $T > $OUT/peft-finetune.txt 2>&1
  echo "peft finetune exit $?"
  timeout 60 $NODE scripts/fixtures/adapter_logits.mjs test/fixtures/models/llama /tmp/peft-adapter /tmp/peft-ours.json 2>&1 | tail -1
  timeout 120 python3 scripts/fixtures/peft_load_check.py /tmp/peft-adapter --model test/fixtures/models/llama --ours /tmp/peft-ours.json > $OUT/peft-check.json 2>$OUT/peft-check.err
  echo "peft check exit $?"; cat $OUT/peft-check.json; tail -3 $OUT/peft-check.err
fi
