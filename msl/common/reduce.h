// Threadgroup-wide reductions for row kernels: simd_sum / simd_max over each 32-lane
// SIMD-group, then one partial per SIMD-group through `scratch` (threadgroup memory of at
// least simdgroups_per_threadgroup floats, declared by the kernel: threadgroup variables
// live in kernel scope). Every thread gets the same result: the partials are combined in
// SIMD-group order, so the reduction is deterministic. Call with every thread of the
// threadgroup from uniform control flow (both functions contain barriers).
#pragma once
#include <metal_stdlib>
using namespace metal;

inline float tg_sum(float v, threadgroup float* scratch, uint sg, uint lane, uint nsg) {
  const float s = simd_sum(v);
  if (lane == 0) scratch[sg] = s;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float t = 0.0f;
  for (uint i = 0; i < nsg; i++) t += scratch[i];
  threadgroup_barrier(mem_flags::mem_threadgroup);
  return t;
}

inline float tg_max(float v, threadgroup float* scratch, uint sg, uint lane, uint nsg) {
  const float s = simd_max(v);
  if (lane == 0) scratch[sg] = s;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float t = scratch[0];
  for (uint i = 1; i < nsg; i++) t = max(t, scratch[i]);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  return t;
}
