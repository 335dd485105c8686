# device call (run S9 call B, H100)
source .gpu/prelude.sh && tar -xzf .gpu/node_modules.tgz && bash bench/device-s9-b.sh
