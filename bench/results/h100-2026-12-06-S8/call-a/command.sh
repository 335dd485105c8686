# device call (run S8 call A, H100, before this run's changes except the host split): 1B decode/train host split + CPU profile, 8B decode
source .gpu/prelude.sh && tar -xzf .gpu/node_modules.tgz && bash bench/device-s8-host.sh
