# Sourced by the device-call scripts (bench/device-s15-*.sh): the Dawn flags every H100 run
# takes, the output folder, and the helpers that skip a step as a call nears its limit.
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
# room LIMIT WHAT: false (and a line saying so) once the call has run LIMIT seconds.
room() { if [ $SECONDS -gt $1 ]; then echo "skipped (at ${SECONDS} s): $2"; return 1; fi; }
# pm NAME TIMEOUT ARGS…: `pmetal bench ARGS` into NAME.txt / NAME.json, its model rows echoed.
pm() {
  local name=$1 t=$2; shift 2
  room $((560 - t)) "pmetal $name" || return 0
  timeout $t $NODE dist/cli.js bench "$@" $D --json $R/$name.json > $R/$name.txt 2>&1
  echo "== pmetal $name exit $? (${SECONDS} s)"; grep -E "^(prefill|decode|train) |^copy kernel" $R/$name.txt | head -8
}
# pt NAME TIMEOUT ARGS…: PyTorch + transformers on the same GPU (bench/peers/torch_models.py).
pt() {
  local name=$1 t=$2; shift 2
  room $((560 - t)) "torch $name" || return 0
  timeout $t python3 bench/peers/torch_models.py "$@" > $R/$name.json 2> $R/$name.err
  echo "== torch $name exit $? (${SECONDS} s)"; head -c 1500 $R/$name.json; echo; tail -2 $R/$name.err
}
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
