// Cross-entropy over the vocabulary (metal3 tier; no metal4 kernel: a streamed row
// reduction and an elementwise backward have nothing for the tensor units to do).
//
// cross_entropy_fwd[_softcap]_<dt>: one threadgroup per row streams the V logits once (no
//   [T, V] temporary). Each thread keeps an online (m, s) in the log2 domain: t = z·log2e,
//   m = an integer running maximum (the ceil of the largest t seen), s = Σ 2^(t − m). As m is
//   an integer, rescaling s when m grows is an exact ldexp: every term sees exactly one exp2
//   and no rescale error accumulates (lseError in src/ops/cross_entropy/reference.ts). The
//   threadgroup merge is simd_max + threadgroup max of m, then simd_sum + threadgroup sum of
//   the exactly rescaled s. lse = M·ln2 + log(S), S in (1/2, V]. Thread 0 writes lse and the
//   row's loss lse − c1·z_t − c2·Σz (c1 = 1−ε, c2 = ε/V): 0 for an ignored row, NaN for a
//   target outside [0, V) (never used as an index then). Σz is always reduced (c2 = 0
//   without label smoothing). The row losses go to `loss` ('none') or a [T] scratch that
//   ce_reduce_{sum,mean} folds.
// cross_entropy_bwd[_softcap]_<dt>: dx_j = g·(exp(z_j − lse) − c2 − c1·[j=t])·∂z_j/∂x_j,
//   elementwise; a threadgroup takes a chunk of one row (grid: chunks × rows). g =
//   g_buf[row·g_stride]: dloss per row ('none'), dloss[0] ('sum') or dloss[0]/count from
//   ce_grad_scale ('mean'). Ignored rows get 0 without reading the logits; invalid targets NaN.
// ce_reduce_sum / ce_reduce_mean / ce_grad_scale: one threadgroup over the T rows, counting
//   the non-ignored targets exactly (integer simd_sum) and summing in a fixed order
//   (deterministic): Σ loss, Σ loss / count (NaN when 0, as PyTorch), dloss[0] / count (0
//   when 0: then every row is ignored and the factor unused).
//
// SOFTCAP: z = cap·tanh(x/cap) and ∂z/∂x = sech²(x/cap), both from one e = exp(−2|x|/cap):
// tanh = (1−e)/(1+e), sech² = 4e/(1+e)² — cancellation-free, with a derived error model
// (softcapError in src/ops/cross_entropy/reference.ts); inv_cap = f32(1/cap) from the host.
// Thread counts: any multiple of 32 up to 1024 (partials in threadgroup memory, one per
// simdgroup).
#include <metal_stdlib>
using namespace metal;

struct CeParams {
  uint rows;
  uint v;
  uint chunk;       // backward: elements per threadgroup chunk of a row
  uint g_stride;    // backward: 1 ('none', dloss per row) or 0
  int ignore_index;
  float cap;
  float inv_cap;
  float c1;         // f32(1 − ε)
  float c2;         // f32(ε / V)
};

constant float CE_LOG2E = 1.4426950408889634f;
constant float CE_LN2 = 0.6931471805599453f;
// Below every t; a shift from it is clamped, and ldexp(0, ·) stays 0.
constant float CE_NO_MAX = -3.0e38f;

// (z, sech²) of the softcap.
inline float2 ce_softcap(float x, float cap, float inv_cap) {
  const float a = fabs(x) * inv_cap;
  const float e = precise::exp(-2.0f * a);
  const float r = 1.0f / (1.0f + e);
  const float z = cap * ((1.0f - e) * r);
  return float2(x >= 0.0f ? z : -z, 4.0f * e * r * r);
}

template <bool SOFTCAP>
inline float ce_logit(float x, constant CeParams& p) {
  if (SOFTCAP) return ce_softcap(x, p.cap, p.inv_cap).x;
  return x;
}

// ldexp by a non-positive integer-valued shift; clamped so the int conversion is defined.
inline float ce_scale_down(float s, float shift) {
  return ldexp(s, int(max(shift, -256.0f)));
}

// Threadgroup-wide max / sum: simd reduction, then simdgroup 0 over the partials. Every
// thread of the threadgroup must call them (barriers); all get the result.
inline float ce_tg_max(float v, threadgroup float* part, uint sg, uint lane, uint nsg) {
  v = simd_max(v);
  if (lane == 0) part[sg] = v;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float r = part[lane < nsg ? lane : 0];
  r = simd_max(r);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  return r;
}
inline float ce_tg_sum(float v, threadgroup float* part, uint sg, uint lane, uint nsg) {
  v = simd_sum(v);
  if (lane == 0) part[sg] = v;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float r = lane < nsg ? part[lane] : 0.0f;
  r = simd_sum(r);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  return r;
}
inline uint ce_tg_count(uint v, threadgroup uint* part, uint sg, uint lane, uint nsg) {
  v = simd_sum(v);
  if (lane == 0) part[sg] = v;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  uint r = lane < nsg ? part[lane] : 0u;
  r = simd_sum(r);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  return r;
}

template <typename T, bool SOFTCAP>
[[kernel]] [[max_total_threads_per_threadgroup(1024)]] void cross_entropy_fwd(device const T* x [[buffer(0)]],
                                  device const int* targets [[buffer(1)]],
                                  device float* loss [[buffer(2)]],
                                  device float* lse [[buffer(3)]],
                                  constant CeParams& p [[buffer(4)]],
                                  uint row [[threadgroup_position_in_grid]],
                                  uint lid [[thread_index_in_threadgroup]],
                                  uint tg [[threads_per_threadgroup]],
                                  uint sg [[simdgroup_index_in_threadgroup]],
                                  uint lane [[thread_index_in_simdgroup]],
                                  uint nsg [[simdgroups_per_threadgroup]]) {
  threadgroup float part[32];
  // The grid has exactly `rows` threadgroups; the guard keeps every thread of a threadgroup
  // on the same side of the barriers below.
  if (row >= p.rows) return;
  device const T* xr = x + ulong(row) * ulong(p.v);

  float m = CE_NO_MAX, s = 0.0f, sz = 0.0f;
  for (uint j = lid; j < p.v; j += tg) {
    const float z = ce_logit<SOFTCAP>(float(xr[j]), p);
    const float t = z * CE_LOG2E;
    if (t > m) {
      const float mn = ceil(t);
      s = ce_scale_down(s, m - mn);
      m = mn;
    }
    s += precise::exp2(t - m);
    sz += z;
  }
  const float mx = ce_tg_max(m, part, sg, lane, nsg);
  const float total = ce_tg_sum(ce_scale_down(s, m - mx), part, sg, lane, nsg);
  const float zsum = ce_tg_sum(sz, part, sg, lane, nsg);
  if (lid == 0) {
    const float l = mx * CE_LN2 + precise::log(total);
    lse[row] = l;
    const int tgt = targets[row];
    float out = 0.0f;
    if (tgt != p.ignore_index) {
      if (tgt < 0 || uint(tgt) >= p.v) {
        out = NAN;
      } else {
        out = (l - p.c1 * ce_logit<SOFTCAP>(float(xr[tgt]), p)) - p.c2 * zsum;
      }
    }
    loss[row] = out;
  }
}

template <typename T, bool SOFTCAP>
[[kernel]] void cross_entropy_bwd(device const T* x [[buffer(0)]],
                                  device const int* targets [[buffer(1)]],
                                  device const float* lse [[buffer(2)]],
                                  device const float* g_buf [[buffer(3)]],
                                  device T* dx [[buffer(4)]],
                                  constant CeParams& p [[buffer(5)]],
                                  uint2 tgp [[threadgroup_position_in_grid]],
                                  uint lid [[thread_index_in_threadgroup]],
                                  uint tg [[threads_per_threadgroup]]) {
  const uint row = tgp.y;
  if (row >= p.rows) return;
  const uint j0 = tgp.x * p.chunk;
  const uint j1 = min(p.v, j0 + p.chunk);
  const ulong base = ulong(row) * ulong(p.v);
  device const T* xr = x + base;
  device T* dr = dx + base;
  const int tgt = targets[row];
  const bool ignored = tgt == p.ignore_index;
  const bool invalid = !ignored && (tgt < 0 || uint(tgt) >= p.v);
  if (ignored || invalid) {
    const T fill = T(invalid ? NAN : 0.0f);
    for (uint j = j0 + lid; j < j1; j += tg) dr[j] = fill;
    return;
  }
  const float l = lse[row];
  const float g = g_buf[row * p.g_stride];
  for (uint j = j0 + lid; j < j1; j += tg) {
    const float xv = float(xr[j]);
    float z = xv, sech2 = 1.0f;
    if (SOFTCAP) {
      const float2 c = ce_softcap(xv, p.cap, p.inv_cap);
      z = c.x;
      sech2 = c.y;
    }
    float q = precise::exp(z - l) - p.c2;
    if (int(j) == tgt) q = q - p.c1;
    float d = g * q;
    if (SOFTCAP) d = d * sech2;
    dr[j] = T(d);
  }
}

// MODE 0: out[0] = Σ src (row losses); 1: Σ src / count (NaN when 0); 2: src[0] / count
// (dloss[0] for 'mean'; 0 when 0).
template <int MODE>
[[kernel]] [[max_total_threads_per_threadgroup(1024)]] void ce_reduce(device const float* src [[buffer(0)]],
                          device const int* targets [[buffer(1)]],
                          device float* out [[buffer(2)]],
                          constant CeParams& p [[buffer(3)]],
                          uint lid [[thread_index_in_threadgroup]],
                          uint tg [[threads_per_threadgroup]],
                          uint sg [[simdgroup_index_in_threadgroup]],
                          uint lane [[thread_index_in_simdgroup]],
                          uint nsg [[simdgroups_per_threadgroup]]) {
  threadgroup float part[32];
  threadgroup uint cpart[32];
  float acc = 0.0f;
  uint c = 0;
  for (uint k = lid; k < p.rows; k += tg) {
    c += targets[k] != p.ignore_index ? 1u : 0u;
    if (MODE != 2) acc += src[k];
  }
  const uint n = ce_tg_count(c, cpart, sg, lane, nsg);
  float total = 0.0f;
  if (MODE != 2) total = ce_tg_sum(acc, part, sg, lane, nsg);
  if (lid == 0) {
    if (MODE == 0) out[0] = total;
    else if (MODE == 1) out[0] = n == 0 ? NAN : total / float(n);
    else out[0] = n == 0 ? 0.0f : src[0] / float(n);
  }
}

#define instantiate_ce(fwd, fwd_cap, bwd, bwd_cap, T) \
  template [[host_name(fwd)]] [[kernel]] decltype(cross_entropy_fwd<T, false>) cross_entropy_fwd<T, false>; \
  template [[host_name(fwd_cap)]] [[kernel]] decltype(cross_entropy_fwd<T, true>) cross_entropy_fwd<T, true>; \
  template [[host_name(bwd)]] [[kernel]] decltype(cross_entropy_bwd<T, false>) cross_entropy_bwd<T, false>; \
  template [[host_name(bwd_cap)]] [[kernel]] decltype(cross_entropy_bwd<T, true>) cross_entropy_bwd<T, true>;

instantiate_ce("cross_entropy_fwd_f32", "cross_entropy_fwd_softcap_f32", "cross_entropy_bwd_f32", "cross_entropy_bwd_softcap_f32", float)
instantiate_ce("cross_entropy_fwd_f16", "cross_entropy_fwd_softcap_f16", "cross_entropy_bwd_f16", "cross_entropy_bwd_softcap_f16", half)
instantiate_ce("cross_entropy_fwd_bf16", "cross_entropy_fwd_softcap_bf16", "cross_entropy_bwd_bf16", "cross_entropy_bwd_softcap_bf16", bfloat)

template [[host_name("ce_reduce_sum")]] [[kernel]] decltype(ce_reduce<0>) ce_reduce<0>;
template [[host_name("ce_reduce_mean")]] [[kernel]] decltype(ce_reduce<1>) ce_reduce<1>;
template [[host_name("ce_grad_scale")]] [[kernel]] decltype(ce_reduce<2>) ce_reduce<2>;
