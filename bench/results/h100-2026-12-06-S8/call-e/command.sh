# device call (run S8 call E, H100)
source .gpu/prelude.sh && tar -xzf .gpu/node_modules.tgz && bash bench/device-s8-e.sh
