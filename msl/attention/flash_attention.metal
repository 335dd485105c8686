// Flash attention forward, Metal 3 tier (simdgroup_matrix): fa_fwd_<dt>_dv<N>, N the Dv bucket.
//
// A threadgroup of NSG SIMD-groups owns BQ = 8·NSG problem rows of one (batch, kv head) —
// rows are (query, head) pairs of the G query heads sharing the kv head, so every K/V tile
// serves all of them — and walks the block's key range [kstart, kend] in tiles of FA_BK = 16
// keys. SIMD-group sg owns rows sg·8 .. sg·8+7:
//   S (8 × 16) = Q (8 × D) · Kᵀ as two simdgroup_float8x8 accumulators, fragments built from
//   the threadgroup tiles through thread_elements() (Apple's layout: lane l holds row
//   (l/4 & 4) + (l/2 % 4), columns (l/4 & 2)·2 + (l%2)·2 and +1, as msl/gemm/mma.h), so all
//   products accumulate in f32 whatever T is;
//   scale, softcap (from one exp, the model of softcapError), mask by the row's [lo, hi];
//   the row max over the 4 lanes sharing a row (simd_shuffle_xor 1 and 8); lazy rescale
//   (m moves only when a tile's max exceeds m + FA_TAU, bounds.ts RESCALE_SLACK): every
//   lane owns whole rows of its accumulator elements, so a rescale is a multiply of its own
//   thread_elements;
//   P replaces S in place (p = exp(s − m), 0 where masked), O[j] += P · V[:, 8j..8j+7].
// K and V tiles share one buffer (V is loaded after the scores): Q (BQ × D) + one tile
// (16 × max(D, Dv)) in T fit 32 KiB for every head dim with the NSG the launcher picks.
// DVF (a template parameter) bounds Dv/8 so the accumulators are a fixed-size array; the
// launcher picks the smallest of 8, 10, 12, 16, 24, 32 that holds Dv/8 (Dv = 64, 80, 96,
// 128, 192, 256 exactly; others run with guarded fragments). D is a runtime loop bound.
// varlen: cu_seqlens are device data — checked first by the threadgroup (cu[0] = 0,
// nondecreasing, cu[B] ≤ total; else every output is NaN); every index is then in range.
// Every device read is guarded: rows past `rows`, keys past kend are never loaded.
#include <metal_stdlib>
#include "attention/attention.h"
#include "attention/fa_params.h"
using namespace metal;

constant constexpr uint FA_BK = 16;

template <typename T, int DVF>
[[kernel]] void fa_fwd(device const T* q [[buffer(0)]],
                       device const T* k [[buffer(1)]],
                       device const T* v [[buffer(2)]],
                       device T* o [[buffer(3)]],
                       device float* lse [[buffer(4)]],
                       device const float* sinks [[buffer(5), function_constant(fa_has_sinks)]],
                       device const int* cuq [[buffer(6), function_constant(fa_varlen)]],
                       device const int* cuk [[buffer(7), function_constant(fa_varlen)]],
                       constant FaParams& p [[buffer(8)]],
                       threadgroup T* smem [[threadgroup(0)]],
                       uint3 tg [[threadgroup_position_in_grid]],
                       uint lid [[thread_index_in_threadgroup]],
                       uint sg [[simdgroup_index_in_threadgroup]],
                       uint lane [[thread_index_in_simdgroup]],
                       uint nsg [[simdgroups_per_threadgroup]],
                       uint tpg [[threads_per_threadgroup]]) {
  threadgroup atomic_uint bad_count;
  threadgroup uint qoff[32];
  const uint bq = nsg * 8;
  const uint d = p.d, dv = p.dv;
  threadgroup T* qs = smem;
  threadgroup T* kvs = smem + bq * d;

  // varlen: validate both cu_seqlens before anything is read through them.
  const bool cu_ok = fa_cu_ok(cuq, cuk, p, &bad_count, lid, tpg);

  const uint blk = tg.x, kvh = tg.y, bz = tg.z;
  const uint r_first = blk * bq;
  const uint r_last = min(r_first + bq, p.rows) - 1;
  const int kstart = fa_row(r_first, bz, kvh, cu_ok, p, cuq, cuk).lo;
  const int kend = fa_row(r_last, bz, kvh, cu_ok, p, cuq, cuk).hi;

  // This lane's row in its SIMD-group's 8 × 8 fragments, and its two columns.
  const uint fq = lane / 4;
  const uint frow = (fq & 4) + (lane / 2) % 4;
  const uint fcol = (fq & 2) * 2 + (lane % 2) * 2;
  const uint r = r_first + sg * 8 + frow;
  const bool in_rows = r < p.rows;
  const bool live = in_rows && cu_ok;
  const FaRow g = fa_row(min(r, p.rows - 1), bz, kvh, cu_ok, p, cuq, cuk);

  // The Q tile: each row's offset once, then the elements (zeros for rows without data).
  if (lid < bq) {
    const uint rr = r_first + lid;
    qoff[lid] = (rr < p.rows && cu_ok) ? fa_row(rr, bz, kvh, false, p, cuq, cuk).q : 0xffffffffu;
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  for (uint e = lid; e < bq * d; e += tpg) {
    const uint qo = qoff[e / d];
    qs[e] = qo == 0xffffffffu ? T(0) : q[qo + e % d];
  }

  float m = FA_LOWEST;
  float l = 0.0f;
  if (fa_has_sinks && live && !g.pad) {
    m = sinks[g.h];
    // The sink joins the denominator once: one of the four lanes sharing the row.
    l = (lane & 9) == 0 ? 1.0f : 0.0f;
  }
  simdgroup_float8x8 acc[DVF];
  for (int j = 0; j < DVF; j++) acc[j] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);

  const uint kb0 = bz * p.k_sb + kvh * p.k_sh;
  const uint vb0 = bz * p.v_sb + kvh * p.v_sh;
  const threadgroup T* qrow = qs + (sg * 8 + frow) * d;
  for (int k0 = kstart; k0 <= kend; k0 += int(FA_BK)) {
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint e = lid; e < FA_BK * d; e += tpg) {
      const int j = k0 + int(e / d);
      kvs[e] = j <= kend ? k[kb0 + uint(j) * p.k_ss + e % d] : T(0);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);

    // S = Q · Kᵀ, two 8 × 8 blocks of keys.
    simdgroup_float8x8 s[2];
    for (uint kb = 0; kb < 2; kb++) {
      s[kb] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
      for (uint dd = 0; dd < d; dd += 8) {
        simdgroup_float8x8 a, b;
        a.thread_elements()[0] = float(qrow[dd + fcol]);
        a.thread_elements()[1] = float(qrow[dd + fcol + 1]);
        // Kᵀ (dim × key): this lane's elements are dims dd + frow of keys fcol, fcol + 1.
        b.thread_elements()[0] = float(kvs[(kb * 8 + fcol) * d + dd + frow]);
        b.thread_elements()[1] = float(kvs[(kb * 8 + fcol + 1) * d + dd + frow]);
        simdgroup_multiply_accumulate(s[kb], a, b, s[kb]);
      }
    }
    float sc[4];
    float mt = FA_LOWEST;
    for (uint kb = 0; kb < 2; kb++) {
      for (uint e = 0; e < 2; e++) {
        float x = p.scale * s[kb].thread_elements()[e];
        if (fa_has_softcap) x = fa_softcap(x, p.cap, p.inv_cap);
        const int j = k0 + int(kb * 8 + fcol + e);
        const bool vis = live && j >= g.lo && j <= g.hi;
        sc[kb * 2 + e] = vis ? x : FA_LOWEST;
        mt = max(mt, sc[kb * 2 + e]);
      }
    }
    mt = max(mt, simd_shuffle_xor(mt, 1));
    mt = max(mt, simd_shuffle_xor(mt, 8));
    if (mt > m + FA_TAU) {
      const float alpha = m == FA_LOWEST ? 0.0f : precise::exp(m - mt);
      l *= alpha;
      for (int j = 0; j < DVF; j++) {
        acc[j].thread_elements()[0] *= alpha;
        acc[j].thread_elements()[1] *= alpha;
      }
      m = mt;
    }
    for (uint kb = 0; kb < 2; kb++) {
      for (uint e = 0; e < 2; e++) {
        const float x = sc[kb * 2 + e];
        const float pe = x == FA_LOWEST ? 0.0f : precise::exp(x - m);
        s[kb].thread_elements()[e] = pe;
        l += pe;
      }
    }

    // The V tile replaces the K tile.
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint e = lid; e < FA_BK * dv; e += tpg) {
      const int j = k0 + int(e / dv);
      kvs[e] = j <= kend ? v[vb0 + uint(j) * p.v_ss + e % dv] : T(0);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (int j = 0; j < DVF; j++) {
      if (uint(j) * 8 >= dv) break;
      for (uint kb = 0; kb < 2; kb++) {
        simdgroup_float8x8 b;
        // V (key × column): keys kb·8 + frow, columns 8j + fcol, +1.
        b.thread_elements()[0] = float(kvs[(kb * 8 + frow) * dv + j * 8 + fcol]);
        b.thread_elements()[1] = float(kvs[(kb * 8 + frow) * dv + j * 8 + fcol + 1]);
        simdgroup_multiply_accumulate(acc[j], s[kb], b, acc[j]);
      }
    }
  }
  l += simd_shuffle_xor(l, 1);
  l += simd_shuffle_xor(l, 8);

  if (in_rows) {
    const bool empty = l == 0.0f;
    const float nan = as_type<float>(0x7fc00000u);
    for (int j = 0; j < DVF; j++) {
      if (uint(j) * 8 >= dv) break;
      for (uint e = 0; e < 2; e++) {
        const float x = !cu_ok ? nan : empty ? 0.0f : acc[j].thread_elements()[e] / l;
        o[g.o + j * 8 + fcol + e] = T(x);
      }
    }
    if ((lane & 9) == 0) lse[g.lse] = !cu_ok ? nan : empty ? -INFINITY : m + precise::log(l);
  }
}

#define fa_str_(x) #x
#define fa_str(x) fa_str_(x)
#define instantiate_fa(tname, T, DVF, DVN) \
  template [[host_name(fa_str(fa_fwd_##tname##_dv##DVN))]] [[kernel]] decltype(fa_fwd<T, DVF>) fa_fwd<T, DVF>;
#define instantiate_fa_dims(tname, T)                                                                 \
  instantiate_fa(tname, T, 8, 64) instantiate_fa(tname, T, 10, 80) instantiate_fa(tname, T, 12, 96) \
  instantiate_fa(tname, T, 16, 128) instantiate_fa(tname, T, 24, 192) instantiate_fa(tname, T, 32, 256)

instantiate_fa_dims(f32, float)
instantiate_fa_dims(f16, half)
instantiate_fa_dims(bf16, bfloat)
