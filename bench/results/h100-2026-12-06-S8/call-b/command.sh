# device call (run S8 call B, H100): quick conformance of rope/rope_backward/fused_mlp/fused_adamw_step, model bench with step graphs on/off, fused_mlp decode variants
source .gpu/prelude.sh && tar -xzf .gpu/node_modules.tgz && bash bench/device-s8-final.sh
# model-1b.txt, model-8b.{txt,json} did not come back (file count limit); the 8B rows are in output-tail.txt
