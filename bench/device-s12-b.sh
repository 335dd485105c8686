#!/usr/bin/env bash
# Device call (run S12 call B): the runtime/gemm issue's peers table re-run with today's
# kernels and host path (every op a peer shares, onnxruntime-web 1.30 and tfjs on the same
# GPUDevice), PyTorch's peers section in the same call, then whatever call A left to confirm.
set -u
T=allow_unsafe_apis,vulkan_enable_f16_on_nvidia
D="--toggles $T --disable-toggles timestamp_quantization"
R=$OUT
timeout 260 $NODE dist/cli.js bench --peers --toggles $T --json $R/peers.json --html $R/peers.html > $R/peers.txt 2> $R/peers.err
echo "peers exit $?"; grep -vE "^(pmetal|onnxruntime-web|tfjs) one-time" $R/peers.txt | head -60; tail -3 $R/peers.err
timeout 150 python3 bench/peers/torch_ceiling.py gemm rest peers > $R/torch.json 2> $R/torch.err
echo "torch exit $?"; head -c 3000 $R/torch.json; echo
if [ -f bench/device-s12-b-extra.sh ]; then bash bench/device-s12-b-extra.sh; fi
