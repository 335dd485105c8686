// fused_distill_loss and its backward (metal3 tier: streamed row reductions and an
// elementwise gradient have nothing for the tensor units to do). The same passes and
// arithmetic as wgsl/loss/distill*.wgsl (error model: src/ops/fused_distill_loss{,_backward}/
// reference.ts), one threadgroup a row:
// distill_fwd_<loss>_<dt>: 1) the maxima of s = z·inv_t and t (student, teacher), 2) Σexp(s − M),
//   Σexp(t − M), lse = M + log Σ, 3) the terms of the divergence (LOSS 0 kl, 1 reverse_kl,
//   2 js, 3 soft_ce) from lq = s − lse_s, lp = t − lse_t; row_loss[row] = D·scale (τ²) and
//   both lse.
// distill_bwd_<loss>_<dt>: c = g·tau (g = dloss[row], dloss[0] or dloss[0] / total by g_mode
//   0/1/2); kl, soft_ce: dz = c·(q − p); reverse_kl, js: H = Σ q·h first, dz = c·q·(h − H).
// distill_reduce: one threadgroup sums the row losses in a fixed order ('sum', or 'mean' over
//   the rows).
#include <metal_stdlib>
#include "common/reduce.h"
using namespace metal;

// Same fields, in order, as DISTILL_PARAMS in src/backend/metal/launchers/fused_distill_loss.ts.
struct DistillParams {
  uint rows;
  uint v;
  float inv_t;
  float scale;
};
// Same fields, in order, as DISTILL_BACKWARD_PARAMS.
struct DistillBackwardParams {
  uint rows;
  uint v;
  uint g_mode;
  uint total;
  float inv_t;
  float tau;
};
// Same fields, in order, as DISTILL_REDUCE_PARAMS.
struct DistillReduceParams {
  uint rows;
  uint mean;
};

// Below every s; no infinity (fast math may assume there is none).
constant float DISTILL_NO_MAX = -3.0e38f;

// log((p + q)/2) = a + log(0.5 + 0.5·exp(b − a)), a = max, b = min.
inline float distill_log_mix(float lp, float lq) {
  const float a = max(lp, lq);
  const float b = min(lp, lq);
  return a + precise::log(0.5f + 0.5f * precise::exp(b - a));
}

template <int LOSS>
inline float distill_term(float lp, float lq) {
  if (LOSS == 0) return precise::exp(lp) * (lp - lq);
  if (LOSS == 1) return precise::exp(lq) * (lq - lp);
  if (LOSS == 2) {
    const float lm = distill_log_mix(lp, lq);
    return 0.5f * (precise::exp(lp) * (lp - lm) + precise::exp(lq) * (lq - lm));
  }
  return -(precise::exp(lp) * lq);
}

template <int LOSS>
inline float distill_h(float lp, float lq) {
  if (LOSS == 2) return 0.5f * (lq - distill_log_mix(lp, lq));
  return lq - lp;
}

template <typename T, int LOSS>
kernel void distill_fwd(device const T* zs [[buffer(0)]],
                        device const T* zt [[buffer(1)]],
                        device float* row_loss [[buffer(2)]],
                        device float* lse_s [[buffer(3)]],
                        device float* lse_t [[buffer(4)]],
                        constant DistillParams& p [[buffer(5)]],
                        uint row [[threadgroup_position_in_grid]],
                        uint lid [[thread_index_in_threadgroup]],
                        uint tpg [[threads_per_threadgroup]],
                        uint sg [[simdgroup_index_in_threadgroup]],
                        uint lane [[thread_index_in_simdgroup]],
                        uint nsg [[simdgroups_per_threadgroup]]) {
  threadgroup float scratch[32];
  const ulong base = ulong(row) * p.v;
  float ms = DISTILL_NO_MAX;
  float mt = DISTILL_NO_MAX;
  for (uint j = lid; j < p.v; j += tpg) {
    ms = max(ms, float(zs[base + j]) * p.inv_t);
    mt = max(mt, float(zt[base + j]) * p.inv_t);
  }
  const float max_s = tg_max(ms, scratch, sg, lane, nsg);
  const float max_t = tg_max(mt, scratch, sg, lane, nsg);
  float es = 0.0f;
  float et = 0.0f;
  for (uint j = lid; j < p.v; j += tpg) {
    es += precise::exp(float(zs[base + j]) * p.inv_t - max_s);
    et += precise::exp(float(zt[base + j]) * p.inv_t - max_t);
  }
  const float ls = max_s + precise::log(tg_sum(es, scratch, sg, lane, nsg));
  const float lt = max_t + precise::log(tg_sum(et, scratch, sg, lane, nsg));
  float tot = 0.0f;
  for (uint j = lid; j < p.v; j += tpg) {
    const float lq = float(zs[base + j]) * p.inv_t - ls;
    const float lp = float(zt[base + j]) * p.inv_t - lt;
    tot += distill_term<LOSS>(lp, lq);
  }
  const float d = tg_sum(tot, scratch, sg, lane, nsg);
  if (lid == 0) {
    row_loss[row] = d * p.scale;
    lse_s[row] = ls;
    lse_t[row] = lt;
  }
}

template <typename T, int LOSS>
kernel void distill_bwd(device const T* zs [[buffer(0)]],
                        device const T* zt [[buffer(1)]],
                        device const float* lse_s [[buffer(2)]],
                        device const float* lse_t [[buffer(3)]],
                        device const float* dloss [[buffer(4)]],
                        device T* dz [[buffer(5)]],
                        constant DistillBackwardParams& p [[buffer(6)]],
                        uint row [[threadgroup_position_in_grid]],
                        uint lid [[thread_index_in_threadgroup]],
                        uint tpg [[threads_per_threadgroup]],
                        uint sg [[simdgroup_index_in_threadgroup]],
                        uint lane [[thread_index_in_simdgroup]],
                        uint nsg [[simdgroups_per_threadgroup]]) {
  threadgroup float scratch[32];
  float g = p.g_mode == 0 ? dloss[row] : dloss[0];
  if (p.g_mode == 2) g = g / float(p.total);
  const float c = g * p.tau;
  const float ls = lse_s[row];
  const float lt = lse_t[row];
  const ulong base = ulong(row) * p.v;
  float hm = 0.0f;
  if (LOSS == 1 || LOSS == 2) {
    float acc = 0.0f;
    for (uint j = lid; j < p.v; j += tpg) {
      const float lq = float(zs[base + j]) * p.inv_t - ls;
      const float lp = float(zt[base + j]) * p.inv_t - lt;
      acc += precise::exp(lq) * distill_h<LOSS>(lp, lq);
    }
    hm = tg_sum(acc, scratch, sg, lane, nsg);
  }
  for (uint j = lid; j < p.v; j += tpg) {
    const float lq = float(zs[base + j]) * p.inv_t - ls;
    const float lp = float(zt[base + j]) * p.inv_t - lt;
    const float gj = (LOSS == 1 || LOSS == 2) ? precise::exp(lq) * (distill_h<LOSS>(lp, lq) - hm) : precise::exp(lq) - precise::exp(lp);
    dz[base + j] = T(c * gj);
  }
}

kernel void distill_reduce(device const float* row_loss [[buffer(0)]],
                           device float* out [[buffer(1)]],
                           constant DistillReduceParams& p [[buffer(2)]],
                           uint lid [[thread_index_in_threadgroup]]) {
  threadgroup float buf[256];
  float acc = 0.0f;
  for (uint k = lid; k < p.rows; k += 256) acc += row_loss[k];
  buf[lid] = acc;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  for (uint s = 128; s > 0; s >>= 1) {
    if (lid < s) buf[lid] = buf[lid] + buf[lid + s];
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  if (lid == 0) out[0] = p.mean ? buf[0] / float(p.rows) : buf[0];
}

// Host names are built by token pasting, then stringized once, so each is a single literal.
#define distill_str_(x) #x
#define distill_str(x) distill_str_(x)
#define instantiate_distill(loss, code, dt, T)                                                                     \
  template [[host_name(distill_str(distill_fwd_##loss##_##dt))]] [[kernel]] decltype(distill_fwd<T, code>) distill_fwd<T, code>; \
  template [[host_name(distill_str(distill_bwd_##loss##_##dt))]] [[kernel]] decltype(distill_bwd<T, code>) distill_bwd<T, code>;
#define instantiate_distill_dtypes(loss, code) \
  instantiate_distill(loss, code, f32, float)  \
  instantiate_distill(loss, code, f16, half)   \
  instantiate_distill(loss, code, bf16, bfloat)
instantiate_distill_dtypes(kl, 0)
instantiate_distill_dtypes(reverse_kl, 1)
instantiate_distill_dtypes(js, 2)
instantiate_distill_dtypes(soft_ce, 3)
