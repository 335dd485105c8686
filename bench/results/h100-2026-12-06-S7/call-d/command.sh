# device call D (run S7, H100): after the trainer constant-options change; the 1B decode/train with the default pool and PMETAL_POOL_MIB=16384
source .gpu/prelude.sh && tar -xzf .gpu/node_modules.tgz && POOL_PHASES=decode,train POOL_T=90 bash bench/device-pool.sh
