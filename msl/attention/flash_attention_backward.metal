// Flash attention backward, Metal 3 tier (SIMT; the same structure as the WGSL kernels in
// wgsl/attention/fa_bwd_*.wgsl, so one bound — src/ops/flash_attention_backward/bounds.ts —
// covers both). FlashAttention-2: P = exp(z − lse) from the forward's lse, D = dO·o.
//   fa_bwd_prep_<dt>:      (lse, D) per query row into an f32 scratch laid out like lse.
//   fa_bwd_dq_<dt>_c<N>:   a threadgroup owns p.bq rows of one (batch, kv head) (8 threads a row,
//                          thread l owning the 8-element words l, l+8, … of dq) and walks the
//                          block's keys in tiles of p.bk with K and V in threadgroup memory.
//   fa_bwd_dk/dv_<dt>_c<N>: a threadgroup owns p.bk keys (8 threads a key) with the K (and, for
//                          dk, V) tile resident and walks the rows that can see them in blocks of
//                          p.bq, skipping blocks whose key range misses its keys.
//   fa_bwd_dsink:          one threadgroup per query head, −Σ exp(sink − lse)·D in a fixed order.
// N = words per thread (Dv or D ≤ 64·N). Deterministic: no atomics on data, fixed orders.
// varlen: the cu_seqlens are checked first (fa_cu_ok); malformed → NaN outputs. Every device
// read is guarded (rows past `rows`, keys past the tile's last key are never loaded).
#include <metal_stdlib>
#include "attention/fa_bwd.h"
using namespace metal;

template <typename T>
[[kernel]] void fa_bwd_prep(device const T* o [[buffer(0)]],
                            device const T* dO [[buffer(3)]],
                            device const float* lse [[buffer(4)]],
                            device float2* ld [[buffer(5)]],
                            constant FaBwdParams& p [[buffer(8)]],
                            uint idx [[thread_position_in_grid]]) {
  const uint total = (fa_varlen ? 1 : p.batches) * p.hq * p.sq;
  if (idx >= total) return;
  const uint s = idx % p.sq, h = (idx / p.sq) % p.hq, b = idx / (p.sq * p.hq);
  const uint off = b * p.o_sb + s * p.o_ss + h * p.o_sh;
  float d = 0.0f;
  for (uint c = 0; c < p.dv; c++) d += float(dO[off + c]) * float(o[off + c]);
  ld[idx] = float2(lse[idx], d);
}

template <typename T, int CPW>
[[kernel]] void fa_bwd_dq(device const T* q [[buffer(0)]],
                          device const T* k [[buffer(1)]],
                          device const T* v [[buffer(2)]],
                          device const T* dO [[buffer(3)]],
                          device const float2* ld [[buffer(4)]],
                          device T* dq [[buffer(5)]],
                          device const int* cuq [[buffer(6), function_constant(fa_varlen)]],
                          device const int* cuk [[buffer(7), function_constant(fa_varlen)]],
                          constant FaBwdParams& p [[buffer(8)]],
                          threadgroup float* smem [[threadgroup(0)]],
                          uint3 tg [[threadgroup_position_in_grid]],
                          uint lid [[thread_index_in_threadgroup]],
                          uint tpg [[threads_per_threadgroup]]) {
  threadgroup atomic_uint bad_count;
  const bool cu_ok = fa_cu_ok(cuq, cuk, p, &bad_count, lid, tpg);
  const uint bq = p.bq, bk = p.bk, d = p.d, dv = p.dv;
  threadgroup float* ks = smem;
  threadgroup float* vs = ks + bk * d;
  threadgroup float* xs = vs + bk * dv;
  const uint blk = tg.x, kvh = tg.y, bz = tg.z;
  const uint r_first = blk * bq;
  const uint r_last = min(r_first + bq, p.rows) - 1;
  const int kstart = fa_row(r_first, bz, kvh, cu_ok, p, cuq, cuk).lo;
  const int kend = fa_row(r_last, bz, kvh, cu_ok, p, cuq, cuk).hi;
  const uint rr = lid / 8, lane = lid % 8;
  const uint r = r_first + rr;
  const bool in_rows = r < p.rows;
  const bool live = in_rows && cu_ok;
  const FaRow g = fa_row(min(r, p.rows - 1), bz, kvh, cu_ok, p, cuq, cuk);
  const float2 lsed = live && g.lo <= g.hi ? ld[g.lse] : float2(0.0f);
  float acc[CPW * 8];
  for (int x = 0; x < CPW * 8; x++) acc[x] = 0.0f;
  const uint kb = bz * p.k_sb + kvh * p.k_sh, vb = bz * p.v_sb + kvh * p.v_sh;
  for (int k0 = kstart; k0 <= kend; k0 += int(bk)) {
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint e = lid; e < bk * d; e += tpg) {
      const int j = k0 + int(e / d);
      ks[e] = j <= kend ? float(k[kb + uint(j) * p.k_ss + e % d]) : 0.0f;
    }
    for (uint e = lid; e < bk * dv; e += tpg) {
      const int j = k0 + int(e / dv);
      vs[e] = j <= kend ? float(v[vb + uint(j) * p.v_ss + e % dv]) : 0.0f;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint jj = lane; jj < bk; jj += 8) {
      const int j = k0 + int(jj);
      float dx = 0.0f;
      if (live && j >= g.lo && j <= g.hi) {
        float qk = 0.0f, dp = 0.0f;
        for (uint c = 0; c < d; c++) qk += float(q[g.q + c]) * ks[jj * d + c];
        for (uint c = 0; c < dv; c++) dp += float(dO[g.o + c]) * vs[jj * dv + c];
        const float2 zs = fa_logit(qk, p);
        dx = precise::exp(zs.x - lsed.x) * (dp - lsed.y) * zs.y;
      }
      xs[rr * bk + jj] = dx;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint jj = 0; jj < bk; jj++) {
      const float dx = xs[rr * bk + jj];
      for (int i = 0; i < CPW; i++) {
        const uint w = lane + uint(i) * 8;
        if (w * 8 < d)
          for (int e = 0; e < 8; e++) acc[i * 8 + e] += dx * ks[jj * d + w * 8 + e];
      }
    }
  }
  if (in_rows) {
    const float nan = as_type<float>(0x7fc00000u);
    for (int i = 0; i < CPW; i++) {
      const uint w = lane + uint(i) * 8;
      if (w * 8 < d)
        for (int e = 0; e < 8; e++) dq[g.q + w * 8 + e] = T(cu_ok ? p.scale * acc[i * 8 + e] : nan);
    }
  }
}

constant constexpr uint FA_BQR = 32;  // rows per block of the dk/dv kernels (≥ p.bq)

template <typename T, int CPW, bool DV>
[[kernel]] void fa_bwd_dkv(device const T* q [[buffer(0)]],
                           device const T* k [[buffer(1)]],
                           device const T* v [[buffer(2)]],
                           device const T* dO [[buffer(3)]],
                           device const float2* ld [[buffer(4)]],
                           device T* out [[buffer(5)]],
                           device const int* cuq [[buffer(6), function_constant(fa_varlen)]],
                           device const int* cuk [[buffer(7), function_constant(fa_varlen)]],
                           constant FaBwdParams& p [[buffer(8)]],
                           threadgroup float* smem [[threadgroup(0)]],
                           uint3 tg [[threadgroup_position_in_grid]],
                           uint lid [[thread_index_in_threadgroup]],
                           uint tpg [[threads_per_threadgroup]]) {
  threadgroup atomic_uint bad_count;
  threadgroup int rlo[FA_BQR], rhi[FA_BQR];
  threadgroup float2 rld[FA_BQR];
  threadgroup uint rq[FA_BQR], ro[FA_BQR];
  const bool cu_ok = fa_cu_ok(cuq, cuk, p, &bad_count, lid, tpg);
  const uint bkv = p.bk, bq = p.bq, d = p.d, dv = p.dv;
  threadgroup float* ks = smem;
  threadgroup float* vs = ks + bkv * d;  // dk only
  threadgroup float* px = vs + (DV ? 0 : bkv * dv);
  const uint kblk = tg.x, kvh = tg.y, bz = tg.z;
  const uint jj = lid / 8, lane = lid % 8;
  const uint j0 = kblk * bkv, j = j0 + jj;
  const uint j1 = min(j0 + bkv, p.sk) - 1;
  const uint kb = bz * p.k_sb + kvh * p.k_sh, vb = bz * p.v_sb + kvh * p.v_sh;

  // The rows that can see these keys, and whether key j belongs to a sequence.
  const uint3 rk = fa_bwd_key_rows(cuk, cuq, p, cu_ok, j0, j1, j);
  const uint ra = rk.x, rb = rk.y;
  const bool key_ok = rk.z != 0;
  for (uint e = lid; e < bkv * d; e += tpg) {
    const uint kk = j0 + e / d;
    ks[e] = kk <= j1 ? float(k[kb + kk * p.k_ss + e % d]) : 0.0f;
  }
  if (!DV)
    for (uint e = lid; e < bkv * dv; e += tpg) {
      const uint kk = j0 + e / dv;
      vs[e] = kk <= j1 ? float(v[vb + kk * p.v_ss + e % dv]) : 0.0f;
    }

  const uint ow = (DV ? dv : d) / 8;
  float acc[CPW * 8];
  for (int x = 0; x < CPW * 8; x++) acc[x] = 0.0f;
  for (uint rb0 = ra; rb0 < rb; rb0 += bq) {
    const uint rb1 = min(rb0 + bq, rb) - 1;
    if (fa_bwd_block_misses(rb0, rb1, bz, kvh, p, cuq, cuk, j0, j1)) continue;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint t = lid; t < bq; t += tpg) {
      const FaBwdRow w = fa_bwd_row(rb0 + t, rb, bz, kvh, p, cuq, cuk, ld, 0u);
      rlo[t] = w.lo;
      rhi[t] = w.hi;
      rld[t] = w.ld;
      rq[t] = w.q;
      ro[t] = w.o;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint t = lane; t < bq; t += 8) {
      float val = 0.0f;
      if (key_ok && int(j) >= rlo[t] && int(j) <= rhi[t]) {
        float qk = 0.0f;
        for (uint c = 0; c < d; c++) qk += float(q[rq[t] + c]) * ks[jj * d + c];
        const float2 zs = fa_logit(qk, p);
        const float pp = precise::exp(zs.x - rld[t].x);
        if (DV) {
          val = pp;
        } else {
          float dp = 0.0f;
          for (uint c = 0; c < dv; c++) dp += float(dO[ro[t] + c]) * vs[jj * dv + c];
          val = pp * (dp - rld[t].y) * zs.y;
        }
      }
      px[jj * bq + t] = val;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint t = 0; t < bq; t++) {
      const float w8 = px[jj * bq + t];
      if (w8 == 0.0f) continue;
      for (int i = 0; i < CPW; i++) {
        const uint w = lane + uint(i) * 8;
        if (w < ow)
          for (int e = 0; e < 8; e++) acc[i * 8 + e] += w8 * float(DV ? dO[ro[t] + w * 8 + e] : q[rq[t] + w * 8 + e]);
      }
    }
  }
  if (j < p.sk) {
    const float nan = as_type<float>(0x7fc00000u);
    const float sc = DV ? 1.0f : p.scale;
    const uint oe = DV ? bz * p.v_sb + j * p.v_ss + kvh * p.v_sh : bz * p.k_sb + j * p.k_ss + kvh * p.k_sh;
    for (int i = 0; i < CPW; i++) {
      const uint w = lane + uint(i) * 8;
      if (w < ow)
        for (int e = 0; e < 8; e++) out[oe + w * 8 + e] = T(cu_ok ? sc * acc[i * 8 + e] : nan);
    }
  }
}

[[kernel]] void fa_bwd_dsink(device const float* sinks [[buffer(0)]],
                             device const float2* ld [[buffer(4)]],
                             device float* dsinks [[buffer(5)]],
                             device const int* cuq [[buffer(6), function_constant(fa_varlen)]],
                             device const int* cuk [[buffer(7), function_constant(fa_varlen)]],
                             constant FaBwdParams& p [[buffer(8)]],
                             uint h [[threadgroup_position_in_grid]],
                             uint lid [[thread_index_in_threadgroup]],
                             uint tpg [[threads_per_threadgroup]]) {
  threadgroup atomic_uint bad_count;
  threadgroup float part[256];
  const bool cu_ok = fa_cu_ok(cuq, cuk, p, &bad_count, lid, tpg);
  // Rows of head h: (b, s) for b < batches, s < sq (varlen: s < cuq[B], padding excluded).
  const uint per = fa_varlen && cu_ok ? uint(cuq[p.batches]) : p.sq;
  const uint n = (fa_varlen ? 1 : p.batches) * per;
  const float sink = sinks[h];
  float acc = 0.0f;
  if (cu_ok)
    for (uint t = lid; t < n; t += tpg) {
      const float2 x = ld[((t / per) * p.hq + h) * p.sq + t % per];
      acc -= precise::exp(sink - x.x) * x.y;
    }
  part[lid] = acc;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  for (uint w = tpg / 2; w > 0; w >>= 1) {
    if (lid < w) part[lid] += part[lid + w];
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  if (lid == 0) dsinks[h] = cu_ok ? part[0] : as_type<float>(0x7fc00000u);
}

#define fa_str_(x) #x
#define fa_str(x) fa_str_(x)
#define instantiate_bwd(tname, T)                                                                              \
  template [[host_name(fa_str(fa_bwd_prep_##tname))]] [[kernel]] decltype(fa_bwd_prep<T>) fa_bwd_prep<T>;      \
  instantiate_bwd_c(tname, T, 1) instantiate_bwd_c(tname, T, 2) instantiate_bwd_c(tname, T, 4)
#define instantiate_bwd_c(tname, T, C)                                                                          \
  template [[host_name(fa_str(fa_bwd_dq_##tname##_c##C))]] [[kernel]] decltype(fa_bwd_dq<T, C>) fa_bwd_dq<T, C>; \
  template [[host_name(fa_str(fa_bwd_dk_##tname##_c##C))]] [[kernel]] decltype(fa_bwd_dkv<T, C, false>) fa_bwd_dkv<T, C, false>; \
  template [[host_name(fa_str(fa_bwd_dv_##tname##_c##C))]] [[kernel]] decltype(fa_bwd_dkv<T, C, true>) fa_bwd_dkv<T, C, true>;

instantiate_bwd(f32, float)
instantiate_bwd(f16, half)
instantiate_bwd(bf16, bfloat)
