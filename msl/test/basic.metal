// pmetal host-runtime tests: buffers, setBytes params, positions, threadgroup memory, barriers.
#include <metal_stdlib>
using namespace metal;

struct Params {
  uint n;
  float scale;
};

kernel void saxpy(device const float* x [[buffer(0)]],
                  device float* y [[buffer(1)]],
                  constant Params& p [[buffer(2)]],
                  uint gid [[thread_position_in_grid]]) {
  if (gid >= p.n) return;
  y[gid] = p.scale * x[gid] + y[gid];
}

// every thread writes its position attributes (3-D grid)
kernel void positions(device uint4* out [[buffer(0)]],
                      uint3 tpig [[thread_position_in_grid]],
                      uint3 tpitg [[thread_position_in_threadgroup]],
                      uint3 tgpig [[threadgroup_position_in_grid]],
                      uint3 tptg [[threads_per_threadgroup]],
                      uint3 tgpg [[threadgroups_per_grid]],
                      uint tiitg [[thread_index_in_threadgroup]],
                      ushort lane [[thread_index_in_simdgroup]],
                      ushort sg [[simdgroup_index_in_threadgroup]],
                      uint w [[thread_execution_width]],
                      uint nsg [[simdgroups_per_threadgroup]],
                      uint3 tpg [[threads_per_grid]]) {
  uint linear = (tpig.z * tpg.y + tpig.y) * tpg.x + tpig.x;
  out[linear * 4 + 0] = uint4(tpig, tiitg);
  out[linear * 4 + 1] = uint4(tpitg, uint(lane));
  out[linear * 4 + 2] = uint4(tgpig, uint(sg));
  out[linear * 4 + 3] = uint4(tptg.x * tgpg.x, w, nsg, tptg.x * tptg.y * tptg.z);
}

// threadgroup memory shared across a barrier: reverse each block of 128
kernel void reverse_block(device const float* in [[buffer(0)]],
                          device float* out [[buffer(1)]],
                          uint lid [[thread_position_in_threadgroup]],
                          uint tg [[threadgroup_position_in_grid]],
                          uint n [[threads_per_threadgroup]]) {
  threadgroup float tile[128];
  tile[lid] = in[tg * n + lid];
  threadgroup_barrier(mem_flags::mem_threadgroup);
  out[tg * n + lid] = tile[n - 1 - lid];
}

// tree reduction with barriers in a loop, [[threadgroup(0)]] scratch and a 2-D local array
kernel void block_sum(device const float* in [[buffer(0)]],
                      device float* out [[buffer(1)]],
                      threadgroup float* scratch [[threadgroup(0)]],
                      uint lid [[thread_index_in_threadgroup]],
                      uint tg [[threadgroup_position_in_grid]],
                      uint n [[threads_per_threadgroup]]) {
  threadgroup float stage[2][4], flag;
  scratch[lid] = in[tg * n + lid];
  threadgroup_barrier(mem_flags::mem_threadgroup);
  for (uint s = n / 2; s > 0; s >>= 1) {
    if (lid < s) scratch[lid] += scratch[lid + s];
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  if (lid < 4) stage[1][lid] = scratch[0] + float(lid);
  if (lid == 0) flag = 1.0f;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (lid == n - 1) out[tg] = stage[1][3] - 3.0f + flag - 1.0f;
}

// vector types, swizzles, conversions, half and bfloat, packed types, math
kernel void vectors(device const float4* in [[buffer(0)]],
                    device float4* out [[buffer(1)]],
                    device packed_float3* packed [[buffer(2)]],
                    device half* h [[buffer(3)]],
                    device bfloat* bf [[buffer(4)]],
                    uint gid [[thread_position_in_grid]]) {
  float4 v = in[gid];
  float4 r = float4(v.wzyx);
  r.xy += float2(1.0f);
  int4 iv = int4(v * 2.0f);
  half4 hv = half4(v);
  float3 p = packed[gid];
  out[gid * 4 + 0] = r;
  out[gid * 4 + 1] = float4(iv) + float4(float2(p.xy), p.z, 0.5h);
  out[gid * 4 + 2] = float4(exp(v.x), sqrt(abs(v.y)), max(v.z, 0.0f), clamp(v.w, -1.0f, 1.0f));
  out[gid * 4 + 3] = float4(dot(v, v), fast::tanh(v.x), precise::rsqrt(4.0f), select(1.0f, 2.0f, v.x > 0.0f));
  h[gid] = hv.x * 2.0h + hv.y;
  bf[gid] = bfloat(v.x) * bfloat(3.0f);
  packed[gid] = packed_float3(p.zyx);
  out[gid * 4 + 3].w += as_type<float>(as_type<uint>(1.0f)) - 1.0f + float(all(v.xy == v.xy)) - 1.0f;
}
