// decode_attention, Metal 3 tier (SIMT, the structure of wgsl/attention/decode_split.wgsl and
// decode_reduce.wgsl, so src/ops/decode_attention's bound covers both):
//   decode_split_<dt>_c<N>: a threadgroup owns p.bq rows — (query token, head) pairs of the G
//     query heads of one kv head — of one sequence and one split of its keys, in tiles of p.bk
//     keys through threadgroup memory (f32), 8 threads a row (thread l owning the 8-element words
//     l, l+8, … of the accumulator, N words at most); lazy online softmax (FA_TAU); writes the
//     split's partial (m, l, acc) unnormalised.
//   decode_reduce_<dt>: a threadgroup per (sequence, head, token) combines the partials:
//     M = max m_s (and the sink), l = Σ exp(m_s − M)·l_s, o = Σ exp(m_s − M)·acc_s / l.
//   decode_direct_<dt>_c<N>: decode_split for a plan of one split (every key of a row in one
//     threadgroup): the row is finished there as decode_reduce finishes one split (da_finish,
//     the same operations in the same order) — no partials, no second dispatch.
// Query t of a sequence of `length` keys sits at position length − T + t. Each sequence is
// checked first (0 ≤ length ≤ capacity; paged: every block-table entry it uses names a block):
// an invalid one reads nothing and its o and lse are NaN.
#include <metal_stdlib>
#include "attention/decode.h"
using namespace metal;

template <typename T, int CPW, bool DIRECT>
[[kernel]] void decode_split(device const T* q [[buffer(0)]],
                             device const T* k [[buffer(1)]],
                             device const T* v [[buffer(2)]],
                             device const int* lengths [[buffer(3)]],
                             device const int* table [[buffer(4)]],
                             device float* part [[buffer(5)]],
                             device T* o [[buffer(6)]],
                             device float* lse [[buffer(7)]],
                             constant DecodeParams& p [[buffer(8)]],
                             device const float* sinks [[buffer(9)]],
                             threadgroup float* smem [[threadgroup(0)]],
                             uint3 tg [[threadgroup_position_in_grid]],
                             uint lid [[thread_index_in_threadgroup]],
                             uint tpg [[threads_per_threadgroup]]) {
  threadgroup atomic_uint bad;
  const uint blk = tg.x, s = tg.y % p.splits, kvh = tg.y / p.splits, b = tg.z;
  uint len;
  const bool ok = da_seq(lengths, table, p, b, &bad, lid, tpg, len);
  const uint bq = p.bq, bk = p.bk, d = p.d, dv = p.dv;
  threadgroup float* ks = smem;
  threadgroup float* vs = ks + bk * d;
  threadgroup float* ss = vs + bk * dv;
  const int s0 = int(s * p.split_len);
  const int s1 = min(int((s + 1) * p.split_len), int(len)) - 1;
  const uint r_first = blk * bq;
  const uint r_last = min(r_first + bq, p.rows) - 1;
  const int kstart = ok ? da_keys(p, len, r_first, s0, s1).x : 0;
  const int kend = ok ? da_keys(p, len, r_last, s0, s1).y : -1;
  const uint rr = lid / 8, lane = lid % 8;
  const uint r = r_first + rr;
  const bool in_rows = r < p.rows;
  const bool live = in_rows && ok;
  const uint rc = min(r, p.rows - 1);
  const int2 rk = da_keys(p, len, rc, s0, s1);
  const uint t = rc / p.group, h = kvh * p.group + rc % p.group;
  const uint qe = ((b * p.t + t) * p.hq + h) * d;
  float m = FA_LOWEST, l = 0.0f;
  float acc[CPW * 8];
  for (int x = 0; x < CPW * 8; x++) acc[x] = 0.0f;
  for (int k0 = kstart; k0 <= kend; k0 += int(bk)) {
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint e = lid; e < bk * d; e += tpg) {
      const int j = k0 + int(e / d);
      ks[e] = j <= kend ? float(k[da_key_row(table, p, b, kvh, uint(j), d) + e % d]) : 0.0f;
    }
    for (uint e = lid; e < bk * dv; e += tpg) {
      const int j = k0 + int(e / dv);
      vs[e] = j <= kend ? float(v[da_key_row(table, p, b, kvh, uint(j), dv) + e % dv]) : 0.0f;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint jj = lane; jj < bk; jj += 8) {
      const int j = k0 + int(jj);
      float sv = FA_LOWEST;
      if (live && j >= rk.x && j <= rk.y) {
        float dt = 0.0f;
        for (uint c = 0; c < d; c++) dt += float(q[qe + c]) * ks[jj * d + c];
        sv = p.scale * dt;
        if (p.has_cap) sv = fa_softcap(sv, p.cap, p.inv_cap);
      }
      ss[rr * bk + jj] = sv;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float mt = FA_LOWEST;
    for (uint jj = 0; jj < bk; jj++) mt = max(mt, ss[rr * bk + jj]);
    if (mt > m + FA_TAU) {
      const float alpha = m == FA_LOWEST ? 0.0f : precise::exp(m - mt);
      l *= alpha;
      for (int x = 0; x < CPW * 8; x++) acc[x] *= alpha;
      m = mt;
    }
    for (uint jj = 0; jj < bk; jj++) {
      const int j = k0 + int(jj);
      const float pj = (live && j >= rk.x && j <= rk.y) ? precise::exp(ss[rr * bk + jj] - m) : 0.0f;
      l += pj;
      for (int i = 0; i < CPW; i++) {
        const uint w = lane + uint(i) * 8;
        if (w * 8 < dv)
          for (int e = 0; e < 8; e++) acc[i * 8 + e] += pj * vs[jj * dv + w * 8 + e];
      }
    }
  }
  if (in_rows && DIRECT) {
    // decode_reduce's arithmetic for one split: M = max(m if it saw a key, sink), its weight
    // w = exp(m − M), l' = w·l (+ exp(sink − M)), o = w·acc / l'.
    float mx = l > 0.0f ? m : FA_LOWEST;
    const float sink = p.has_sinks ? sinks[h] : 0.0f;
    if (p.has_sinks) mx = max(mx, sink);
    const float w = l > 0.0f ? precise::exp(m - mx) : 0.0f;
    float lt = w * l;
    if (p.has_sinks) lt += precise::exp(sink - mx);
    const float nan = as_type<float>(0x7fc00000u);
    const bool empty = lt == 0.0f;
    device T* orow = o + ((b * p.t + t) * p.hq + h) * p.dv;
    for (int i = 0; i < CPW; i++) {
      const uint wd = lane + uint(i) * 8;
      if (wd * 8 < dv)
        for (int e = 0; e < 8; e++) orow[wd * 8 + e] = T(!ok ? nan : empty ? 0.0f : (w * acc[i * 8 + e]) / lt);
    }
    if (lane == 0) lse[(b * p.hq + h) * p.t + t] = !ok ? nan : empty ? -INFINITY : mx + precise::log(lt);
  } else if (in_rows) {
    // The partial of (b, h, t, s): (m, l, 0, 0), then acc.
    device float* rec = part + (((b * p.hq + h) * p.t + t) * p.splits + s) * p.rec;
    if (lane == 0) {
      rec[0] = m;
      rec[1] = l;
      rec[2] = 0.0f;
      rec[3] = 0.0f;
    }
    for (int i = 0; i < CPW; i++) {
      const uint w = lane + uint(i) * 8;
      if (w * 8 < dv)
        for (int e = 0; e < 8; e++) rec[4 + w * 8 + e] = acc[i * 8 + e];
    }
  }
}

template <typename T>
[[kernel]] void decode_reduce(device const float* sinks [[buffer(0)]],
                              device const int* lengths [[buffer(3)]],
                              device const int* table [[buffer(4)]],
                              device const float* part [[buffer(5)]],
                              device T* o [[buffer(6)]],
                              device float* lse [[buffer(7)]],
                              constant DecodeParams& p [[buffer(8)]],
                              uint gid [[threadgroup_position_in_grid]],
                              uint lid [[thread_index_in_threadgroup]],
                              uint tpg [[threads_per_threadgroup]]) {
  threadgroup atomic_uint bad;
  // gid = (b·hq + h)·T + t: the lse index.
  const uint t = gid % p.t, h = (gid / p.t) % p.hq, b = gid / (p.t * p.hq);
  uint len;
  const bool ok = da_seq(lengths, table, p, b, &bad, lid, tpg, len);
  device const float* rec0 = part + gid * p.splits * p.rec;
  float mx = FA_LOWEST;
  for (uint s = 0; s < p.splits; s++)
    if (rec0[s * p.rec + 1] > 0.0f) mx = max(mx, rec0[s * p.rec]);
  const float sink = p.has_sinks ? sinks[h] : 0.0f;
  if (p.has_sinks) mx = max(mx, sink);
  float l = 0.0f;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  const uint c = lid;  // output elements 4c .. 4c+3
  for (uint s = 0; s < p.splits; s++) {
    device const float* rec = rec0 + s * p.rec;
    if (rec[1] > 0.0f) {
      const float w = precise::exp(rec[0] - mx);
      l += w * rec[1];
      if (c * 4 < p.dv)
        for (int e = 0; e < 4; e++) acc[e] += w * rec[4 + c * 4 + e];
    }
  }
  if (p.has_sinks) l += precise::exp(sink - mx);
  const float nan = as_type<float>(0x7fc00000u);
  const bool empty = l == 0.0f;
  if (c * 4 < p.dv)
    for (int e = 0; e < 4; e++) o[((b * p.t + t) * p.hq + h) * p.dv + c * 4 + e] = T(!ok ? nan : empty ? 0.0f : acc[e] / l);
  if (lid == 0) lse[gid] = !ok ? nan : empty ? -INFINITY : mx + precise::log(l);
}

#define da_str_(x) #x
#define da_str(x) da_str_(x)
#define instantiate_decode(tname, T)                                                                                  \
  template [[host_name(da_str(decode_reduce_##tname))]] [[kernel]] decltype(decode_reduce<T>) decode_reduce<T>;         \
  instantiate_decode_split(tname, T, split, false) instantiate_decode_split(tname, T, direct, true)
#define instantiate_decode_split(tname, T, kind, D)                                                                              \
  template [[host_name(da_str(decode_##kind##_##tname##_c1))]] [[kernel]] decltype(decode_split<T, 1, D>) decode_split<T, 1, D>; \
  template [[host_name(da_str(decode_##kind##_##tname##_c2))]] [[kernel]] decltype(decode_split<T, 2, D>) decode_split<T, 2, D>; \
  template [[host_name(da_str(decode_##kind##_##tname##_c4))]] [[kernel]] decltype(decode_split<T, 4, D>) decode_split<T, 4, D>;

instantiate_decode(f32, float)
instantiate_decode(f16, half)
instantiate_decode(bf16, bfloat)
