// pmetal host-runtime tests: kernels with bugs the runtime must report (never hang or crash).
#include <metal_stdlib>
using namespace metal;

// some threads return before the barrier
kernel void early_return_barrier(device float* out [[buffer(0)]],
                                 uint lid [[thread_position_in_threadgroup]]) {
  threadgroup float t[64];
  if (lid >= 48) return;
  t[lid] = float(lid);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[lid] = t[47 - lid];
}

// threads wait at two different barriers
kernel void two_barriers(device float* out [[buffer(0)]],
                         uint lid [[thread_position_in_threadgroup]]) {
  if (lid % 2 == 0) {
    threadgroup_barrier(mem_flags::mem_threadgroup);
  } else {
    threadgroup_barrier(mem_flags::mem_device);
  }
  out[lid] = 1.0f;
}

// lanes of one SIMD-group call two different SIMD functions
kernel void split_simd(device float* out [[buffer(0)]],
                       ushort lane [[thread_index_in_simdgroup]]) {
  float v = float(lane);
  if (lane < 16) v = simd_sum(v);
  else v = simd_max(v);
  out[lane] = v;
}

// some lanes wait at a SIMD function while the others wait at a barrier
kernel void simd_vs_barrier(device float* out [[buffer(0)]],
                            ushort lane [[thread_index_in_simdgroup]]) {
  float v = float(lane);
  if (lane < 8) v = simd_sum(v);
  threadgroup_barrier(mem_flags::mem_none);
  out[lane] = v;
}

// writes one element past the end of its output (buffer 1)
kernel void oob_write(device const float* in [[buffer(0)]],
                      device float* out [[buffer(1)]],
                      constant uint& n [[buffer(2)]],
                      uint gid [[thread_position_in_grid]]) {
  out[gid + (gid == n - 1 ? 1 : 0)] = in[gid] * 2.0f;
}

// overruns a threadgroup array (caught by the arena's guard zone without ASan)
kernel void tg_overrun(device float* out [[buffer(0)]],
                       uint lid [[thread_position_in_threadgroup]]) {
  threadgroup float tile[32];
  tile[lid + 4] = 1.0f;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[lid] = tile[lid];
}

kernel void fine(device float* out [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
  out[gid] = float(gid);
}
