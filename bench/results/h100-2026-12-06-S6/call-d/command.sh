source .gpu/prelude.sh && tar -xzf .gpu/node_modules.tgz && CONF_S=1 FUZZ_S=0 HOST=0 BENCH_T=170 BENCHES="--op fused_lora_forward,fused_mlp --dtype f16 --reps 3" bash bench/device-final.sh
