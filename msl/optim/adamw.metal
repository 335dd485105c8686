// fused_adamw_step (metal3 tier: elementwise work and one reduction, nothing for the tensor
// units). The same three passes and arithmetic as wgsl/optim/adamw_*.wgsl:
// adamw_reduce_<g>: threadgroup w sums g² and counts non-finite gradients (from their bits:
//   fast math may assume finite values) over elements [w·span, (w+1)·span) into part[w].
// adamw_finalize (one threadgroup): partials summed in a fixed order (strided, then a tree);
//   the norm, clip factor, flags (1 non-finite gradient, 2 bad segment table or group scale,
//   4 bad device lr/step) and per segment sz_g = lr_g / (1 − β1^t), dec_g = 1 − lr_g·wd_g
//   into `table` ([0] flags [1] clip [2] √(1 − β2^t) [3] n [8+2g] sz_g [9+2g] dec_g
//   [8+2n+k] offsets[k]).
// adamw_update_<p>_<g>: one thread an element: g' = g·clip, p ← p·dec_g, m ← β1·m + c1·g',
//   v ← β2·v + c2·g'², p ← p − (sz_g·m) / (√v / √(1 − β2^t) + eps); a set flag copies the
//   inputs. src is the f32 master (has_master; params = the new master rounded to P) or the
//   f32 params.
// adamw_update_inplace_<p>_<g>: the same update written into src, m and v themselves (and
//   the 16-bit params, has_master); a set flag writes nothing, so a skipped step leaves
//   every buffer's bits as they were.
// adamw_acc_flag: flag_out is the caller's accumulated flag (OR-ed into); `table` holds this
//   call's flags only (what skips it).
#include <metal_stdlib>
using namespace metal;

// Same fields, in order, as ADAMW_REDUCE_PARAMS in src/backend/metal/launchers/fused_adamw_step.ts.
struct AdamwReduceParams {
  uint count;
  uint span;
};
// Same fields, in order, as ADAMW_FINALIZE_PARAMS.
struct AdamwFinalizeParams {
  uint parts;
  uint count;
  uint nseg;
  uint clip_on;
  float max_norm;
  float lr;
  float wd;
  float bc1;
  float bc2s;
  float beta1;
  float beta2;
};
// Same fields, in order, as ADAMW_UPDATE_PARAMS.
struct AdamwUpdateParams {
  uint count;
  float beta1;
  float c1;
  float beta2;
  float c2;
  float eps;
};

constant bool adamw_has_seg [[function_constant(0)]];
constant bool adamw_has_scalars [[function_constant(1)]];
constant bool adamw_has_master [[function_constant(2)]];
constant bool adamw_acc_flag [[function_constant(3)]];
// The op's normSq input (Σg² of the whole list): the norm and clip factor come from it.
constant bool adamw_has_normsq [[function_constant(4)]];

#define ADAMW_TG 256

inline bool adamw_nonfinite(float x) { return (as_type<uint>(x) & 0x7f800000u) == 0x7f800000u; }
inline bool adamw_nonfinite(half x) { return (as_type<ushort>(x) & 0x7c00) == 0x7c00; }
inline bool adamw_nonfinite(bfloat x) { return (as_type<ushort>(x) & 0x7f80) == 0x7f80; }

template <typename G>
kernel void adamw_reduce(device const G* g [[buffer(0)]],
                         device float2* part [[buffer(1)]],
                         constant AdamwReduceParams& p [[buffer(2)]],
                         uint w [[threadgroup_position_in_grid]],
                         uint lid [[thread_index_in_threadgroup]],
                         uint tpg [[threads_per_threadgroup]],
                         uint sg [[simdgroup_index_in_threadgroup]],
                         uint lane [[thread_index_in_simdgroup]],
                         uint nsg [[simdgroups_per_threadgroup]]) {
  threadgroup float2 scratch[32];
  const ulong start = ulong(w) * p.span;
  const ulong end = min(start + p.span, ulong(p.count));
  float2 acc = float2(0.0f);
  for (ulong e = start + lid; e < end; e += tpg) {
    const G x = g[e];
    const float f = float(x);
    acc += float2(f * f, adamw_nonfinite(x) ? 1.0f : 0.0f);
  }
  acc = simd_sum(acc);
  if (lane == 0) scratch[sg] = acc;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (lid == 0) {
    float2 t = float2(0.0f);
    for (uint k = 0; k < nsg; k++) t += scratch[k];
    part[w] = t;
  }
}

// b^t by square-and-multiply (relative error ≤ t·u to first order; powError in reference.ts).
inline float adamw_pow(float b, uint t) {
  float r = 1.0f;
  float x = b;
  uint k = t;
  while (true) {
    if (k & 1u) r = r * x;
    k >>= 1;
    if (k == 0u) break;
    x = x * x;
  }
  return r;
}

kernel void adamw_finalize(device const float2* part [[buffer(0)]],
                           device uint* table [[buffer(1)]],
                           device int* flag_out [[buffer(2)]],
                           device float* norm_out [[buffer(3)]],
                           device const int* segments [[buffer(4), function_constant(adamw_has_seg)]],
                           device const float* groups [[buffer(5), function_constant(adamw_has_seg)]],
                           device const float* scalars [[buffer(6), function_constant(adamw_has_scalars)]],
                           constant AdamwFinalizeParams& p [[buffer(7)]],
                           device const float* norm_sq [[buffer(8), function_constant(adamw_has_normsq)]],
                           uint lid [[thread_index_in_threadgroup]]) {
  threadgroup float2 red[ADAMW_TG];
  threadgroup uint bad[ADAMW_TG];
  float2 acc = float2(0.0f);
  for (uint i = lid; i < p.parts; i += ADAMW_TG) acc += part[i];
  uint b = 0;
  if (adamw_has_seg) {
    for (uint k = lid; k < p.nseg; k += ADAMW_TG) {
      if (segments[k] > segments[k + 1] || adamw_nonfinite(groups[2 * k]) || adamw_nonfinite(groups[2 * k + 1])) b = 1;
    }
    if (lid == 0 && (segments[0] != 0 || segments[p.nseg] != int(p.count))) b = 1;
  }
  red[lid] = acc;
  bad[lid] = b;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  for (uint s = ADAMW_TG / 2; s > 0; s >>= 1) {
    if (lid < s) {
      red[lid] = red[lid] + red[lid + s];
      bad[lid] = bad[lid] | bad[lid + s];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  float2 tot = red[0];
  if (adamw_has_normsq) {
    tot.x = norm_sq[0];
    if (adamw_nonfinite(tot.x)) tot.y = 1.0f;
  }
  uint flags = (tot.y > 0.0f ? 1u : 0u) | (bad[0] != 0 ? 2u : 0u);
  float lr = p.lr;
  float bc1 = p.bc1;
  float bc2s = p.bc2s;
  if (adamw_has_scalars) {
    lr = scalars[0];
    const float st = scalars[1];
    if (!adamw_nonfinite(lr) && lr >= 0.0f && !adamw_nonfinite(st) && st >= 1.0f && st <= 16777216.0f && floor(st) == st) {
      bc1 = 1.0f - adamw_pow(p.beta1, uint(st));
      bc2s = precise::sqrt(1.0f - adamw_pow(p.beta2, uint(st)));
    } else {
      flags |= 4u;
    }
  }
  const float norm = precise::sqrt(tot.x);
  const float clip = p.clip_on ? min(p.max_norm / (norm + 1e-6f), 1.0f) : 1.0f;
  const uint n = max(p.nseg, 1u);
  for (uint k = lid; k < n; k += ADAMW_TG) {
    const float ls = adamw_has_seg ? groups[2 * k] : 1.0f;
    const float ws = adamw_has_seg ? groups[2 * k + 1] : 1.0f;
    const float a = lr * ls;
    table[8 + 2 * k] = as_type<uint>(a / bc1);
    table[9 + 2 * k] = as_type<uint>(1.0f - a * (p.wd * ws));
  }
  if (adamw_has_seg) {
    for (uint k = lid; k <= p.nseg; k += ADAMW_TG) table[8 + 2 * n + k] = as_type<uint>(segments[k]);
  }
  if (lid == 0) {
    table[0] = flags;
    table[1] = as_type<uint>(clip);
    table[2] = as_type<uint>(bc2s);
    table[3] = n;
    flag_out[0] = int(flags) | (adamw_acc_flag ? flag_out[0] : 0);
    norm_out[0] = norm;
  }
}

inline uint adamw_group(device const uint* table, uint e) {
  if (!adamw_has_seg) return 0;
  const uint n = table[3];
  const uint ob = 8 + 2 * n;
  uint lo = 0;
  uint hi = n - 1;
  while (lo < hi) {
    const uint mid = (lo + hi + 1) / 2;
    if (table[ob + mid] <= e) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

template <typename PT, typename G>
kernel void adamw_update(device const float* src [[buffer(0)]],
                         device const G* g [[buffer(1)]],
                         device const float* m [[buffer(2)]],
                         device const float* v [[buffer(3)]],
                         device const uint* table [[buffer(4)]],
                         device PT* pout [[buffer(5)]],
                         device float* master_out [[buffer(6), function_constant(adamw_has_master)]],
                         device float* m_out [[buffer(7)]],
                         device float* v_out [[buffer(8)]],
                         constant AdamwUpdateParams& p [[buffer(9)]],
                         uint e [[thread_position_in_grid]]) {
  if (e >= p.count) return;
  float pn = src[e];
  float mn = m[e];
  float vn = v[e];
  if (table[0] == 0u) {
    const float clip = as_type<float>(table[1]);
    const float bc2s = as_type<float>(table[2]);
    const uint gi = adamw_group(table, e);
    const float sz = as_type<float>(table[8 + 2 * gi]);
    const float dec = as_type<float>(table[9 + 2 * gi]);
    const float gc = float(g[e]) * clip;
    const float pd = pn * dec;
    mn = p.beta1 * mn + p.c1 * gc;
    vn = p.beta2 * vn + p.c2 * (gc * gc);
    const float den = precise::sqrt(vn) / bc2s + p.eps;
    pn = pd - (sz * mn) / den;
  }
  m_out[e] = mn;
  v_out[e] = vn;
  if (adamw_has_master) master_out[e] = pn;
  pout[e] = PT(pn);
}

// The update in place: each thread reads and writes its own element only.
template <typename PT, typename G>
kernel void adamw_update_inplace(device float* src [[buffer(0)]],
                                 device const G* g [[buffer(1)]],
                                 device float* m [[buffer(2)]],
                                 device float* v [[buffer(3)]],
                                 device const uint* table [[buffer(4)]],
                                 device PT* pout [[buffer(5), function_constant(adamw_has_master)]],
                                 constant AdamwUpdateParams& p [[buffer(9)]],
                                 uint e [[thread_position_in_grid]]) {
  if (e >= p.count || table[0] != 0u) return;
  const float clip = as_type<float>(table[1]);
  const float bc2s = as_type<float>(table[2]);
  const uint gi = adamw_group(table, e);
  const float sz = as_type<float>(table[8 + 2 * gi]);
  const float dec = as_type<float>(table[9 + 2 * gi]);
  const float gc = float(g[e]) * clip;
  const float pd = src[e] * dec;
  const float mn = p.beta1 * m[e] + p.c1 * gc;
  const float vn = p.beta2 * v[e] + p.c2 * (gc * gc);
  const float den = precise::sqrt(vn) / bc2s + p.eps;
  const float pn = pd - (sz * mn) / den;
  src[e] = pn;
  m[e] = mn;
  v[e] = vn;
  if (adamw_has_master) pout[e] = PT(pn);
}

#define instantiate_adamw_reduce(name, G) \
  template [[host_name(name)]] [[kernel]] decltype(adamw_reduce<G>) adamw_reduce<G>;
instantiate_adamw_reduce("adamw_reduce_f32", float)
instantiate_adamw_reduce("adamw_reduce_f16", half)
instantiate_adamw_reduce("adamw_reduce_bf16", bfloat)

#define instantiate_adamw_update(name, PT, G) \
  template [[host_name(name)]] [[kernel]] decltype(adamw_update<PT, G>) adamw_update<PT, G>;
instantiate_adamw_update("adamw_update_f32_f32", float, float)
instantiate_adamw_update("adamw_update_f16_f16", half, half)
instantiate_adamw_update("adamw_update_f16_f32", half, float)
instantiate_adamw_update("adamw_update_bf16_bf16", bfloat, bfloat)
instantiate_adamw_update("adamw_update_bf16_f32", bfloat, float)

#define instantiate_adamw_update_inplace(name, PT, G) \
  template [[host_name(name)]] [[kernel]] decltype(adamw_update_inplace<PT, G>) adamw_update_inplace<PT, G>;
instantiate_adamw_update_inplace("adamw_update_inplace_f32_f32", float, float)
instantiate_adamw_update_inplace("adamw_update_inplace_f16_f16", half, half)
instantiate_adamw_update_inplace("adamw_update_inplace_f16_f32", half, float)
instantiate_adamw_update_inplace("adamw_update_inplace_bf16_bf16", bfloat, bfloat)
instantiate_adamw_update_inplace("adamw_update_inplace_bf16_f32", bfloat, float)
