// RMSNorm over rows: y = h · w / sqrt(mean(h²) + eps), h = x (+ residual), one threadgroup
// a row. Writes rstd (f32) for the backward and, with has_residual, h as the new residual.
// f32 accumulation; outputs rounded once to T (float → half / bfloat is round-to-nearest-even).
#include <metal_stdlib>
#include "common/reduce.h"
using namespace metal;

constant bool has_residual [[function_constant(0)]];

// Same fields, in order, as RMS_NORM_PARAMS in src/backend/metal/launchers/rms_norm.ts.
struct RmsNormParams {
  uint rows;
  uint n;
  float eps;
};

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
  float ss = 0.0f;
  for (uint j = lid; j < p.n; j += tpg) {
    float v = float(x[base + j]);
    if (has_residual) v += float(res[base + j]);
    ss += v * v;
  }
  const float total = tg_sum(ss, scratch, sg, lane, nsg);
  const float r = precise::rsqrt(total / float(p.n) + p.eps);
  if (lid == 0) rstd[row] = r;
  for (uint j = lid; j < p.n; j += tpg) {
    float v = float(x[base + j]);
    if (has_residual) {
      v += float(res[base + j]);
      h[base + j] = T(v);
    }
    y[base + j] = T(v * r * float(w[j]));
  }
}

#define instantiate_rms_norm(name, T) \
  template [[host_name(name)]] [[kernel]] decltype(rms_norm<T>) rms_norm<T>;
instantiate_rms_norm("rms_norm_f32", float)
instantiate_rms_norm("rms_norm_f16", half)
instantiate_rms_norm("rms_norm_bf16", bfloat)
