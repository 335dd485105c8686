// RMSNorm backward.
//   rms_norm_backward_<T>: one threadgroup a row,
//     dx_j = r·w_j·dy_j − x_j·(r³/N)·Σ_i dy_i·w_i·x_i
//   with r from the forward's rstd (has_rstd) or recomputed; r is written to `rs` for dw.
//   rms_norm_dw_partial_<T>: dw_j = Σ_rows dy_j·x_j·r in two deterministic levels (no float
//   atomics): thread j of threadgroup (bx, c) sums `chunk_rows` rows of column j into
//   part[c·n + j] (or straight into dw when there is one chunk);
//   rms_norm_dw_final: thread j sums the `chunks` partials of column j, in chunk order.
#include <metal_stdlib>
#include "common/reduce.h"
using namespace metal;

constant bool has_rstd [[function_constant(0)]];

// Same fields, in order, as RMS_NORM_BACKWARD_PARAMS in src/backend/metal/launchers/rms_norm_backward.ts.
struct RmsNormBackwardParams {
  uint rows;
  uint n;
  float eps;
};

// Same fields, in order, as RMS_NORM_DW_PARAMS.
struct RmsNormDwParams {
  uint rows;
  uint n;
  uint chunk_rows;
  uint chunks;
};

template <typename T>
kernel void rms_norm_backward(device const T* dy [[buffer(0)]],
                              device const T* x [[buffer(1)]],
                              device const T* w [[buffer(2)]],
                              device T* dx [[buffer(3)]],
                              device float* rs [[buffer(4)]],
                              device const float* rstd [[buffer(5), function_constant(has_rstd)]],
                              constant RmsNormBackwardParams& p [[buffer(6)]],
                              uint row [[threadgroup_position_in_grid]],
                              uint lid [[thread_index_in_threadgroup]],
                              uint tpg [[threads_per_threadgroup]],
                              uint sg [[simdgroup_index_in_threadgroup]],
                              uint lane [[thread_index_in_simdgroup]],
                              uint nsg [[simdgroups_per_threadgroup]]) {
  threadgroup float scratch[32];
  const ulong base = ulong(row) * p.n;
  float dot = 0.0f;
  float ss = 0.0f;
  for (uint j = lid; j < p.n; j += tpg) {
    const float xv = float(x[base + j]);
    dot += float(dy[base + j]) * float(w[j]) * xv;
    ss += xv * xv;
  }
  const float tdot = tg_sum(dot, scratch, sg, lane, nsg);
  float r;
  if (has_rstd) {
    r = rstd[row];
  } else {
    r = precise::rsqrt(tg_sum(ss, scratch, sg, lane, nsg) / float(p.n) + p.eps);
  }
  if (lid == 0) rs[row] = r;
  const float c = r * r * r / float(p.n) * tdot;
  for (uint j = lid; j < p.n; j += tpg) {
    dx[base + j] = T(r * float(w[j]) * float(dy[base + j]) - float(x[base + j]) * c);
  }
}

template <typename T>
kernel void rms_norm_dw_partial(device const T* dy [[buffer(0)]],
                                device const T* x [[buffer(1)]],
                                device const float* rs [[buffer(2)]],
                                device float* out [[buffer(3)]],
                                constant RmsNormDwParams& p [[buffer(4)]],
                                uint2 tg [[threadgroup_position_in_grid]],
                                uint lid [[thread_index_in_threadgroup]],
                                uint tpg [[threads_per_threadgroup]]) {
  const uint j = tg.x * tpg + lid;
  if (j >= p.n) return;
  const uint r0 = tg.y * p.chunk_rows;
  const uint r1 = min(p.rows, r0 + p.chunk_rows);
  float acc = 0.0f;
  for (uint r = r0; r < r1; r++) {
    const ulong e = ulong(r) * p.n + j;
    acc += float(dy[e]) * float(x[e]) * rs[r];
  }
  out[ulong(tg.y) * p.n + j] = acc;
}

kernel void rms_norm_dw_final(device const float* part [[buffer(0)]],
                              device float* dw [[buffer(1)]],
                              constant RmsNormDwParams& p [[buffer(2)]],
                              uint tgx [[threadgroup_position_in_grid]],
                              uint lid [[thread_index_in_threadgroup]],
                              uint tpg [[threads_per_threadgroup]]) {
  const uint j = tgx * tpg + lid;
  if (j >= p.n) return;
  float acc = 0.0f;
  for (uint c = 0; c < p.chunks; c++) acc += part[ulong(c) * p.n + j];
  dw[j] = acc;
}

#define instantiate_rms_norm_backward(dx_name, dw_name, T) \
  template [[host_name(dx_name)]] [[kernel]] decltype(rms_norm_backward<T>) rms_norm_backward<T>; \
  template [[host_name(dw_name)]] [[kernel]] decltype(rms_norm_dw_partial<T>) rms_norm_dw_partial<T>;
instantiate_rms_norm_backward("rms_norm_backward_f32", "rms_norm_dw_partial_f32", float)
instantiate_rms_norm_backward("rms_norm_backward_f16", "rms_norm_dw_partial_f16", half)
instantiate_rms_norm_backward("rms_norm_backward_bf16", "rms_norm_dw_partial_bf16", bfloat)
