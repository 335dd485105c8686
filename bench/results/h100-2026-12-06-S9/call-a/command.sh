# device call (run S9 call A, H100)
source .gpu/prelude.sh && tar -xzf .gpu/node_modules.tgz && bash bench/device-s9-a.sh
