# device call (run S7, H100): CPU profile of the 1B decode (serial, pipelined) and train phases
source .gpu/prelude.sh && tar -xzf .gpu/node_modules.tgz && bash bench/host-profile.sh
# analyse: tar -xzf host-profile.tgz && node scripts/probes/cpuprofile_top.mjs CPU.*.cpuprofile --under decodeLoop
