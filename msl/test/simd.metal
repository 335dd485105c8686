// pmetal host-runtime tests: every SIMD-group function, written per thread into out[f * N + i].
#include <metal_stdlib>
using namespace metal;

#define NF 32

kernel void simd_int(device const int* in [[buffer(0)]],
                     device int* out [[buffer(1)]],
                     constant uint& n [[buffer(2)]],
                     uint i [[thread_position_in_grid]],
                     ushort lane [[thread_index_in_simdgroup]]) {
  int x = in[i];
  uint N = n;
  int f = 0;
  out[f++ * N + i] = simd_sum(x);
  out[f++ * N + i] = simd_prefix_inclusive_sum(x);
  out[f++ * N + i] = simd_prefix_exclusive_sum(x);
  out[f++ * N + i] = simd_max(x);
  out[f++ * N + i] = simd_min(x);
  out[f++ * N + i] = simd_product((x & 1) + 1);
  out[f++ * N + i] = simd_and(x | 0x100);
  out[f++ * N + i] = simd_or(x);
  out[f++ * N + i] = simd_xor(x);
  out[f++ * N + i] = simd_broadcast(x, 5);
  out[f++ * N + i] = simd_broadcast_first(x);
  out[f++ * N + i] = simd_shuffle(x, (lane * 7) % 32);
  out[f++ * N + i] = simd_shuffle_up(x, 3);
  out[f++ * N + i] = simd_shuffle_down(x, 5);
  out[f++ * N + i] = simd_shuffle_xor(x, 6);
  out[f++ * N + i] = simd_shuffle_and_fill_up(x, -x, 4);
  out[f++ * N + i] = simd_shuffle_and_fill_down(x, -x, 4);
  out[f++ * N + i] = simd_shuffle_and_fill_up(x, -x, 2, 8);
  out[f++ * N + i] = simd_shuffle_and_fill_down(x, -x, 3, 8);
  out[f++ * N + i] = simd_all(x > -1000) ? 1 : 0;
  out[f++ * N + i] = simd_all(x > 0) ? 1 : 0;
  out[f++ * N + i] = simd_any(x == 7) ? 1 : 0;
  out[f++ * N + i] = simd_any(x == -12345) ? 1 : 0;
  out[f++ * N + i] = int(uint(uint64_t(simd_ballot(x % 3 == 0))));
  out[f++ * N + i] = simd_is_first() ? 1 : 0;
  out[f++ * N + i] = simd_shuffle_rotate_up(x, 3);
  out[f++ * N + i] = simd_shuffle_rotate_down(x, 3);
  out[f++ * N + i] = quad_sum(x);
  out[f++ * N + i] = quad_shuffle(x, 2);
  simdgroup_barrier(mem_flags::mem_none);
  out[f++ * N + i] = simd_prefix_inclusive_product((x & 1) + 1);
  out[f++ * N + i] = simd_prefix_exclusive_product((x & 1) + 1);
  out[f++ * N + i] = lane;
}

kernel void simd_float(device const float4* in [[buffer(0)]],
                       device float4* out [[buffer(1)]],
                       constant uint& n [[buffer(2)]],
                       uint i [[thread_position_in_grid]]) {
  float4 x = in[i];
  out[0 * n + i] = simd_sum(x);
  out[1 * n + i] = simd_max(x);
  out[2 * n + i] = simd_min(x);
  out[3 * n + i] = simd_prefix_exclusive_sum(x);
  out[4 * n + i] = float4(simd_sum(half(x.x)), simd_shuffle_down(x.y, 1), simd_broadcast(x.z, 31), 0.0f);
}

// lanes that returned early do not take part: sums over the active lanes only
kernel void simd_partial(device const int* in [[buffer(0)]],
                         device int* out [[buffer(1)]],
                         constant uint& active [[buffer(2)]],
                         uint i [[thread_position_in_grid]],
                         ushort lane [[thread_index_in_simdgroup]]) {
  if (lane >= active) return;
  out[i] = simd_sum(in[i]);
  out[i + 64] = simd_prefix_exclusive_sum(in[i]);
}
