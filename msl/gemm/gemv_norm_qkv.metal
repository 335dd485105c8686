// fused_norm_qkv at decode sizes (T ≤ NQKV_MAX_T tokens), Metal 3 tier, ONE dispatch where the
// separate plan records rms_norm, three gemv.metal products, rope and kv_cache_copy:
//   s = x (+ residual);  n = (s·rstd)·γ rounded to T;  q/k/v = n·Wᵀ (+ b) rounded to T;
//   q and k rotated as rope.metal rotates the rounded values, rounded again;
//   k and v also stored into the KV cache where kv_cache_copy.metal would put them.
// Those are the separate ops' rounding points, so src/ops/fused_norm_qkv/reference.ts bounds
// both plans at once.
//
// Phase 1, every threadgroup: the T rows' rstd, rms_norm.metal's arithmetic to the bit —
// the launcher passes rms_norm's threads a row (norm_threads, rowThreads(K)), so thread lid
// sums the same elements in the same order, simd_sum, then the partials in SIMD-group order
// (tg_sum's order; the SIMD-groups past norm_threads add nothing), precise::rsqrt(Σ/K + eps).
// The T·K values of x sit in cache for every threadgroup; re-reading them is cheaper than a
// launch. Threadgroup 0 also writes residualOut = T(x + residual), rms_norm's h. (The
// statistic, n's element and the sum are norm/rms_rows.h's, rms_norm.metal's own code.)
//
// Phase 2, the GEMV (gemv.metal's pattern): each SIMD-group owns NQKV_SLOTS = 4 rows of ONE
// of W_q, W_k, W_v; its lanes stride along K in runs of 8, each run's 4 weight rows read once
// and folded into every token's n, which is re-formed from x, residual and γ exactly as
// rms_norm forms y (so the 4 rows share each n element's work); f32 accumulation; simd_sum.
// Rope couples two rows of a head (NeoX: i and i + rd/2; GPT-J: 2i and 2i + 1), so a rotated
// SIMD-group's slots are the two rows of pairs 2w and 2w + 1 (slots 0, 1 and 2, 3): each
// rotation happens inside one SIMD-group (hence one threadgroup), in registers. Rows past the
// rotary dim (and all of v, and q/k without rope) go 4 consecutive "plain" rows a SIMD-group:
// plain row j of a segment is (j / pl)·hd + rd + j % pl, with (hd, rd, pl) = (D, rotaryDim,
// D − rotaryDim) for rotated q/k and (N, 0, N) otherwise (the WebGPU kernel's row map,
// wgsl/gemm/gemv_norm_qkv.wgsl). Slots past a segment's end reread a valid row, not stored.
//
// Epilogue: lane 4t + s finishes token t of slot s: gemm's epilogue (acc + bias, one rounding
// to T), then with rope the rotation of (slot s, its partner s ^ 1) by rope.metal's
// arithmetic (rope_cos_sin of f32(pos)·inv_freq[i], times mscale, fma), rounded to T. With
// the cache, k's and v's stored value converted once to C (kv_cache_copy's KvCvt) into its
// slot; a sequence whose start or used block-table entries are out of range writes nothing.
//
// Named gemv_norm_qkv_<x>_<cache>; without a cache write the launcher takes <cache> = <x>.
#include <metal_stdlib>
#include "attention/kv_cvt.h"
#include "norm/rms_rows.h"
#include "rope/cos_sin.h"
using namespace metal;

constant bool nqkv_has_res [[function_constant(0)]];
constant bool nqkv_has_bq [[function_constant(1)]];
constant bool nqkv_has_bk [[function_constant(2)]];
constant bool nqkv_has_bv [[function_constant(3)]];
constant bool nqkv_rope [[function_constant(4)]];
constant bool nqkv_cache [[function_constant(5)]];
constant bool nqkv_paged [[function_constant(6)]];

constant constexpr uint NQKV_MAX_T = 4;
constant constexpr uint NQKV_SLOTS = 4;
constant constexpr uint NQKV_SGS = 8;

// Same fields, in order, as NORM_QKV_METAL_PARAMS in src/backend/metal/launchers/norm_qkv_gemv.ts.
// sg_*: SIMD-groups of each segment, the first rot_* of them rotated; hd/rd/pl: the plain-row
// map above (v's is the identity); half_rd: pairs per head. c_*: the cache write's geometry
// (kv_cache_copy's KvCopyParams).
struct NormQkvParams {
  uint t;
  uint k;
  uint norm_threads;
  float eps;
  float mscale;
  uint n_q;
  uint n_k;
  uint n_v;
  uint sg_q;
  uint sg_k;
  uint sg_v;
  uint rot_q;
  uint rot_k;
  uint hd_q;
  uint rd_q;
  uint pl_q;
  uint hd_k;
  uint rd_k;
  uint pl_k;
  uint half_rd;
  uint neox;
  uint c_snew;
  uint c_hkv;
  uint c_d;
  uint c_dv;
  uint c_smax;
  uint c_block_size;
  uint c_num_blocks;
  uint c_max_blocks;
  uint c_capacity;
};

template <typename T, typename C>
[[kernel]] void gemv_norm_qkv(device const T* x [[buffer(0)]],
                              device const T* gamma [[buffer(1)]],
                              device const T* wq [[buffer(2)]],
                              device const T* wk [[buffer(3)]],
                              device const T* wv [[buffer(4)]],
                              device T* qo [[buffer(5)]],
                              device T* ko [[buffer(6)]],
                              device T* vo [[buffer(7)]],
                              constant NormQkvParams& p [[buffer(8)]],
                              device const T* res [[buffer(9), function_constant(nqkv_has_res)]],
                              device T* ro [[buffer(10), function_constant(nqkv_has_res)]],
                              device const T* bq [[buffer(11), function_constant(nqkv_has_bq)]],
                              device const T* bk [[buffer(12), function_constant(nqkv_has_bk)]],
                              device const T* bv [[buffer(13), function_constant(nqkv_has_bv)]],
                              device const int* pos [[buffer(14), function_constant(nqkv_rope)]],
                              constant float* inv_freq [[buffer(15), function_constant(nqkv_rope)]],
                              device C* kc [[buffer(16), function_constant(nqkv_cache)]],
                              device C* vc [[buffer(17), function_constant(nqkv_cache)]],
                              device const int* cpos [[buffer(18), function_constant(nqkv_cache)]],
                              device const int* table [[buffer(19), function_constant(nqkv_paged)]],
                              uint tgi [[threadgroup_position_in_grid]],
                              uint lid [[thread_index_in_threadgroup]],
                              uint sg [[simdgroup_index_in_threadgroup]],
                              uint lane [[thread_index_in_simdgroup]]) {
  threadgroup float part[NQKV_MAX_T * NQKV_SGS];
  const uint kk = p.k;

  // ---- phase 1: rstd of the T rows (rms_norm's order), residualOut from threadgroup 0 ----
  if (nqkv_has_res && tgi == 0) rms_rows_write_sum(x, res, ro, p.t * kk, lid, NQKV_SGS * 32);
  float rstd[NQKV_MAX_T];
  rms_rows_rstd<T, NQKV_MAX_T>(rstd, x, res, nqkv_has_res, p.t, kk, p.norm_threads, p.eps, part, NQKV_SGS, lid, sg, lane);

  // ---- phase 2: this SIMD-group's segment and 4 rows (no barrier below: idle groups leave) ----
  const uint gsg = tgi * NQKV_SGS + sg;
  if (gsg >= p.sg_q + p.sg_k + p.sg_v) return;
  uint seg = 0, sw = gsg, n = p.n_q, hd = p.hd_q, rd = p.rd_q, pl = p.pl_q, rotw = p.rot_q;
  device const T* w = wq;
  if (gsg >= p.sg_q + p.sg_k) {
    seg = 2;
    sw = gsg - p.sg_q - p.sg_k;
    n = p.n_v;
    hd = n;
    rd = 0;
    pl = n;
    rotw = 0;
    w = wv;
  } else if (gsg >= p.sg_q) {
    seg = 1;
    sw = gsg - p.sg_q;
    n = p.n_k;
    hd = p.hd_k;
    rd = p.rd_k;
    pl = p.pl_k;
    rotw = p.rot_k;
    w = wk;
  }
  const bool rot = sw < rotw;
  uint rows[NQKV_SLOTS], freq[NQKV_SLOTS];
  bool ok[NQKV_SLOTS];
  if (rot) {
    const uint pairs = (n / hd) * p.half_rd;
    for (uint c = 0; c < 2; c++) {
      const uint q = min(2 * sw + c, pairs - 1);
      const uint base = (q / p.half_rd) * hd;
      const uint i = q % p.half_rd;
      rows[2 * c] = base + (p.neox ? i : 2 * i);
      rows[2 * c + 1] = base + (p.neox ? i + p.half_rd : 2 * i + 1);
      freq[2 * c] = freq[2 * c + 1] = i;
      ok[2 * c] = ok[2 * c + 1] = 2 * sw + c < pairs;
    }
  } else {
    const uint plain = (n / hd) * pl;
    const uint j0 = NQKV_SLOTS * (sw - rotw);
    for (uint c = 0; c < NQKV_SLOTS; c++) {
      const uint j = min(j0 + c, plain - 1);
      rows[c] = (j / pl) * hd + rd + j % pl;
      freq[c] = 0;
      ok[c] = j0 + c < plain;
    }
  }
  ulong wo[NQKV_SLOTS];
  for (uint c = 0; c < NQKV_SLOTS; c++) wo[c] = ulong(rows[c]) * kk;

  float acc[NQKV_SLOTS][NQKV_MAX_T];
  for (uint c = 0; c < NQKV_SLOTS; c++)
    for (uint t = 0; t < NQKV_MAX_T; t++) acc[c][t] = 0.0f;
  const uint runs = kk / 8;
  for (uint r = lane; r < runs; r += 32) {
    const uint e0 = r * 8;
    float wr[NQKV_SLOTS][8];
    for (uint c = 0; c < NQKV_SLOTS; c++)
      for (uint u = 0; u < 8; u++) wr[c][u] = float(w[wo[c] + e0 + u]);
    float g[8];
    for (uint u = 0; u < 8; u++) g[u] = float(gamma[e0 + u]);
    for (uint t = 0; t < NQKV_MAX_T; t++) {
      if (t < p.t) {
        // n's 8 elements as rms_norm stores them: T((s·rstd)·γ).
        float nv[8];
        for (uint u = 0; u < 8; u++) {
          float v = float(x[t * kk + e0 + u]);
          if (nqkv_has_res) v += float(res[t * kk + e0 + u]);
          nv[u] = float(rms_norm_elem<T>(v, rstd[t], g[u]));
        }
        for (uint c = 0; c < NQKV_SLOTS; c++) {
          float s = 0.0f;
          for (uint u = 0; u < 8; u++) s += nv[u] * wr[c][u];
          acc[c][t] += s;
        }
      }
    }
  }
  // K past the last whole run: one element a lane.
  for (uint e = runs * 8 + lane; e < kk; e += 32) {
    const float g = float(gamma[e]);
    for (uint t = 0; t < NQKV_MAX_T; t++) {
      if (t < p.t) {
        float v = float(x[t * kk + e]);
        if (nqkv_has_res) v += float(res[t * kk + e]);
        const float nv = float(rms_norm_elem<T>(v, rstd[t], g));
        for (uint c = 0; c < NQKV_SLOTS; c++) acc[c][t] += nv * float(w[wo[c] + e]);
      }
    }
  }
  // Every lane gets every sum: the finishing lane of a slot reads its rope partner's too.
  float sum[NQKV_SLOTS][NQKV_MAX_T];
  for (uint c = 0; c < NQKV_SLOTS; c++)
    for (uint t = 0; t < NQKV_MAX_T; t++) sum[c][t] = simd_sum(acc[c][t]);

  // ---- epilogue: lane 4t + s stores token t of slot s ----
  if (lane >= NQKV_SLOTS * p.t) return;
  const uint t = lane / NQKV_SLOTS;
  const uint s = lane % NQKV_SLOTS;
  // gemm's epilogue (alpha = 1): acc + bias, one rounding to T.
  float y[2];
  for (uint h = 0; h < 2; h++) {
    const uint c = h == 0 ? s : s ^ 1;
    float v = sum[c][t];
    if (seg == 0 && nqkv_has_bq) v = v + float(bq[rows[c]]);
    if (seg == 1 && nqkv_has_bk) v = v + float(bk[rows[c]]);
    if (seg == 2 && nqkv_has_bv) v = v + float(bv[rows[c]]);
    y[h] = float(T(v));
  }
  float out = y[0];
  if (nqkv_rope && rot) {
    // rope.metal on the stored q/k: slot s is the pair's a (even) or b (odd) row.
    const float2 cs = rope_cos_sin(float(pos[t]) * inv_freq[freq[s]]) * p.mscale;
    out = (s & 1) == 0 ? fma(y[0], cs.x, -(y[1] * cs.y)) : fma(y[0], cs.x, y[1] * cs.y);
  }
  if (!ok[s]) return;
  const T o = T(out);
  const ulong at = ulong(t) * n + rows[s];
  if (seg == 0) qo[at] = o;
  else if (seg == 1) ko[at] = o;
  else vo[at] = o;

  if (nqkv_cache && seg != 0) {
    // kv_cache_copy's placement and validity rule, for token t = sequence b's token t % snew.
    const uint b = t / p.c_snew;
    const int raw = cpos[b];
    if (raw < 0 || uint(raw) > p.c_capacity - p.c_snew) return;
    const uint start = uint(raw);
    if (nqkv_paged) {
      const uint last = (start + p.c_snew - 1) / p.c_block_size;
      for (uint e = start / p.c_block_size; e <= last; e++) {
        const int blk = table[b * p.c_max_blocks + e];
        if (blk < 0 || uint(blk) >= p.c_num_blocks) return;
      }
    }
    const uint j = start + t % p.c_snew;
    const uint chd = seg == 1 ? p.c_d : p.c_dv;
    const uint h = rows[s] / chd;
    const uint col = rows[s] % chd;
    ulong slot;
    if (nqkv_paged) {
      const uint blk = uint(table[b * p.c_max_blocks + j / p.c_block_size]);
      slot = ((ulong(blk) * p.c_block_size + j % p.c_block_size) * p.c_hkv + h) * chd + col;
    } else {
      slot = ((ulong(b) * p.c_hkv + h) * p.c_smax + j) * chd + col;
    }
    if (seg == 1) kc[slot] = KvCvt<C, T>::run(o);
    else vc[slot] = KvCvt<C, T>::run(o);
  }
}

// Host names are built by token pasting, then stringized once, so each is a single literal.
#define nqkv_str_(x) #x
#define nqkv_str(x) nqkv_str_(x)
#define instantiate_nqkv(xname, T, cname, C) \
  template [[host_name(nqkv_str(gemv_norm_qkv_##xname##_##cname))]] [[kernel]] decltype(gemv_norm_qkv<T, C>) gemv_norm_qkv<T, C>;
#define instantiate_nqkv_caches(xname, T)      \
  instantiate_nqkv(xname, T, f32, float)       \
  instantiate_nqkv(xname, T, f16, half)        \
  instantiate_nqkv(xname, T, bf16, bfloat)

instantiate_nqkv_caches(f32, float)
instantiate_nqkv_caches(f16, half)
instantiate_nqkv_caches(bf16, bfloat)
