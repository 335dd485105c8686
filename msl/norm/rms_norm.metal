// RMSNorm over rows: y = h · w / sqrt(mean(h²) + eps), h = x (+ residual), one threadgroup
// a row. Writes rstd (f32) for the backward and, with has_residual, h as the new residual.
// f32 accumulation; outputs rounded once to T (float → half / bfloat is round-to-nearest-even).
// rms_norm_rstd_*: rstd alone (fused_norm_lora, whose gemms normalise x as they stage it).
// The arithmetic is norm/rms_rows.h's, shared with the GEMVs that normalise their own rows.
#include <metal_stdlib>
#include "common/reduce.h"
#include "norm/rms_rows.h"
using namespace metal;

constant bool has_residual [[function_constant(0)]];

// Same fields, in order, as RMS_NORM_PARAMS in src/backend/metal/launchers/rms_norm.ts.
struct RmsNormParams {
  uint rows;
  uint n;
  float eps;
};

// r = (mean(h²) + eps)^-½ of the row at `base`, every thread of the threadgroup taking part.
template <typename T>
inline float rms_row_rstd(device const T* x, device const T* res, bool with_res, ulong base, uint n, float eps,
                          threadgroup float* scratch, uint lid, uint tpg, uint sg, uint lane, uint nsg) {
  const float ss = rms_partial_ss(x, res, with_res, base, n, lid, tpg);
  const float total = tg_sum(ss, scratch, sg, lane, nsg);
  return rms_rstd_of(total, n, eps);
}

template <typename T>
kernel void rms_norm(device const T* x [[buffer(0)]],
                     device const T* w [[buffer(1)]],
                     device T* y [[buffer(2)]],
                     device float* rstd [[buffer(3)]],
                     device const T* res [[buffer(4), function_constant(has_residual)]],
                     device T* h [[buffer(5), function_constant(has_residual)]],
                     constant RmsNormParams& p [[buffer(6)]],
                     uint row [[threadgroup_position_in_grid]],
                     uint lid [[thread_index_in_threadgroup]],
                     uint tpg [[threads_per_threadgroup]],
                     uint sg [[simdgroup_index_in_threadgroup]],
                     uint lane [[thread_index_in_simdgroup]],
                     uint nsg [[simdgroups_per_threadgroup]]) {
  threadgroup float scratch[32];
  const ulong base = ulong(row) * p.n;
  const float r = rms_row_rstd(x, res, has_residual, base, p.n, p.eps, scratch, lid, tpg, sg, lane, nsg);
  if (lid == 0) rstd[row] = r;
  for (uint j = lid; j < p.n; j += tpg) {
    float v = float(x[base + j]);
    if (has_residual) {
      v += float(res[base + j]);
      h[base + j] = T(v);
    }
    y[base + j] = rms_norm_elem<T>(v, r, float(w[j]));
  }
}

template <typename T>
kernel void rms_norm_rstd(device const T* x [[buffer(0)]],
                          device float* rstd [[buffer(3)]],
                          constant RmsNormParams& p [[buffer(6)]],
                          uint row [[threadgroup_position_in_grid]],
                          uint lid [[thread_index_in_threadgroup]],
                          uint tpg [[threads_per_threadgroup]],
                          uint sg [[simdgroup_index_in_threadgroup]],
                          uint lane [[thread_index_in_simdgroup]],
                          uint nsg [[simdgroups_per_threadgroup]]) {
  threadgroup float scratch[32];
  const float r = rms_row_rstd(x, x, false, ulong(row) * p.n, p.n, p.eps, scratch, lid, tpg, sg, lane, nsg);
  if (lid == 0) rstd[row] = r;
}

#define instantiate_rms_norm(name, T) \
  template [[host_name(name)]] [[kernel]] decltype(rms_norm<T>) rms_norm<T>;
instantiate_rms_norm("rms_norm_f32", float)
instantiate_rms_norm("rms_norm_f16", half)
instantiate_rms_norm("rms_norm_bf16", bfloat)
template [[host_name("rms_norm_rstd_f32")]] [[kernel]] decltype(rms_norm_rstd<float>) rms_norm_rstd<float>;
template [[host_name("rms_norm_rstd_f16")]] [[kernel]] decltype(rms_norm_rstd<half>) rms_norm_rstd<half>;
template [[host_name("rms_norm_rstd_bf16")]] [[kernel]] decltype(rms_norm_rstd<bfloat>) rms_norm_rstd<bfloat>;
