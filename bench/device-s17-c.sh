#!/usr/bin/env bash
# Device call (run S17 call C), with run S17's defaults (rotated S columns; 4 subgroups in the
# backward at D ≤ 64): the 1B decode step's wall time in four processes, each timing the three
# decode loops (pipelined, pipelined2, serial) — call A and B's processes took 1.70 to 5.9 ms a
# step with the same GPU ms; the backward's quick conformance and variants; the 1B LoRA step.
set -u
source bench/device_common.sh
for n in 1 2 3 4; do
  room 200 "decode loops $n" || break
  timeout 45 $NODE dist/cli.js bench --model llama-1b --phase decode --batch 1 --decode-loop pipelined,pipelined2,serial $D > $R/loops-$n.txt 2>&1
  echo "== loops $n exit $? (${SECONDS} s)"; grep -E "^decode +1 " $R/loops-$n.txt | head -3
done
timeout 100 $NODE dist/cli.js conformance --quick --op flash_attention_backward --backend webgpu $D > $R/conformance-bwd.txt 2>&1
echo "conformance bwd exit $? (${SECONDS} s)"; grep -E "FAIL|passed" $R/conformance-bwd.txt | tail -4
pm train-1b 80 --model llama-1b --phase train --max-grad-norm 1
if room 420 "fa bwd variants"; then
  timeout 100 $NODE dist/cli.js bench --op flash_attention_backward --variants --variant "default,NSG=8,SWIZZLE" --tier subgroup-matrix --dtype f16 --reps 5 $D > $R/fa-bwd.txt 2>&1
  echo "fa bwd exit $? (${SECONDS} s)"; grep -E "^flash_attention_backward f16" $R/fa-bwd.txt | head -20
fi
