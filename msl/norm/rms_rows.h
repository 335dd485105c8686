// RMSNorm's arithmetic, shared by rms_norm.metal and the decode GEMVs that normalise their
// rows themselves (gemm/gemv_norm_qkv.metal, gemm/gemv_swiglu.metal): one definition of the
// sum of squares, the statistic and y's element, so a fused kernel's rstd and n are
// rms_norm's bit for bit when it runs them with rms_norm's thread count.
#pragma once
#include <metal_stdlib>
using namespace metal;

// One thread's share of Σh² over a row (h = x (+ res), f32): elements lid, lid + tpg, … of
// the row at `base`, added in that order.
template <typename T>
inline float rms_partial_ss(device const T* x, device const T* res, bool with_res, ulong base, uint n, uint lid, uint tpg) {
  float ss = 0.0f;
  for (uint j = lid; j < n; j += tpg) {
    float v = float(x[base + j]);
    if (with_res) v += float(res[base + j]);
    ss += v * v;
  }
  return ss;
}

// rstd = (Σh²/n + eps)^-½ from the row's total.
inline float rms_rstd_of(float total, uint n, float eps) {
  return precise::rsqrt(total / float(n) + eps);
}

// y's element as rms_norm stores it: (h·rstd)·γ, one rounding to T.
template <typename T>
inline T rms_norm_elem(float h, float rstd, float g) {
  return T(h * rstd * g);
}

// The rstd of rows 0 … rows − 1 (rows ≤ MAX_T) of x (+ res) [rows, n] into rstd[0 … MAX_T − 1]
// (entries past `rows` are 0), as rms_norm computes each row with a threadgroup of
// norm_threads threads (a multiple of 32, at most this threadgroup's size): thread lid <
// norm_threads sums rms_partial_ss's elements, simd_sum per SIMD-group, then the
// norm_threads / 32 partials added in SIMD-group order from 0 (common/reduce.h's tg_sum);
// the other SIMD-groups' partials are not read. `part`: threadgroup memory of
// MAX_T · part_stride floats, part_stride ≥ this threadgroup's SIMD-groups. One barrier:
// call with every thread of the threadgroup, from uniform control flow.
template <typename T, uint MAX_T>
inline void rms_rows_rstd(thread float* rstd, device const T* x, device const T* res, bool with_res, uint rows, uint n,
                          uint norm_threads, float eps, threadgroup float* part, uint part_stride, uint lid, uint sg,
                          uint lane) {
  for (uint t = 0; t < MAX_T; t++) {
    if (t < rows) {
      const float ss = lid < norm_threads ? rms_partial_ss(x, res, with_res, ulong(t) * n, n, lid, norm_threads) : 0.0f;
      const float s = simd_sum(ss);
      if (lane == 0) part[t * part_stride + sg] = s;
    }
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  const uint nsg = norm_threads / 32;
  for (uint t = 0; t < MAX_T; t++) {
    float total = 0.0f;
    if (t < rows) {
      for (uint i = 0; i < nsg; i++) total += part[t * part_stride + i];
    }
    rstd[t] = t < rows ? rms_rstd_of(total, n, eps) : 0.0f;
  }
}

// rms_norm's h = T(x + res) for elements lid, lid + tpg, … < count.
template <typename T>
inline void rms_rows_write_sum(device const T* x, device const T* res, device T* out, uint count, uint lid, uint tpg) {
  for (uint e = lid; e < count; e += tpg) {
    float v = float(x[e]);
    v += float(res[e]);
    out[e] = T(v);
  }
}
