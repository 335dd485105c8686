// sample (metal3): the same two phases and the same exact arithmetic as wgsl/sample (see
// sample_logits.wgsl and sample_select.wgsl for the algorithm; src/ops/sample/weights.ts is
// the host twin of every function here). One threadgroup of 256 threads per row.
//   sample_logits_<dt>: processed logits → order keys [B·V], row state (largest key, its
//     lowest id, lse) after them; lse by cross_entropy.metal's online log2-domain sum.
//   sample_select: greedy / top-k / top-p / min-p / the Philox draw / top-n, on integers; a
//     top-k set of at most SAMPLE_CAP ids is gathered first, as in WGSL.
// Decisions use correctly rounded f32 + − × only, each result flushed below 2^-125 and
// passed through `canon`, an XOR with p.zero (a 0 the compiler cannot see), so no multiply
// is fused into a later add. Absent option tensors are bound as a dummy and flagged off.
#include <metal_stdlib>
using namespace metal;

// Same fields, in order, as SAMPLE_MSL_PARAMS in src/backend/metal/launchers/sample.ts.
struct SampleParams {
  uint b;
  uint v;
  uint zero;
  uint topn;
  uint state_base;
  uint flags;
};

#define HAS_BIAS 1u
#define HAS_COUNTS 2u
#define HAS_TEMP 4u
#define HAS_REP 8u
#define HAS_PRES 16u
#define HAS_FREQ 32u
#define HAS_TOPK 64u
#define HAS_TOPP 128u
#define HAS_MINP 256u
#define HAS_OFFSETS 512u

constant uint KEY_NEG_INF = 0x007fffffu;
constant uint KEY_POS_INF = 0xff800000u;
constant uint F_NAN = 0x7fc00000u;
constant uint F_NEG_INF = 0xff800000u;
constant uint ALL = 0xffffffffu;

inline float fbits(uint b, constant SampleParams& p) { return as_type<float>(b ^ p.zero); }
inline float canon(float v, constant SampleParams& p) {
  const uint b = as_type<uint>(v) ^ p.zero;
  return as_type<float>(((b >> 23) & 0xffu) <= 1u ? 0u : b);
}
inline uint key_of(float z) {
  const uint b = as_type<uint>(z);
  const uint a = b & 0x7fffffffu;
  if (a > 0x7f800000u) return KEY_NEG_INF;
  if (a == 0u) return 0x80000000u;
  return (b & 0x80000000u) != 0u ? ~b : (b | 0x80000000u);
}
inline float z_of_key(uint k) { return as_type<float>((k & 0x80000000u) != 0u ? (k & 0x7fffffffu) : ~k); }

// The correctly rounded reciprocal of a normal x in [2^-100, 2^100] (long division, as WGSL).
inline float recip_exact(float x) {
  const uint b = as_type<uint>(x);
  const uint e = (b >> 23) & 0xffu;
  const uint mx = (b & 0x7fffffu) | 0x800000u;
  if (mx == 0x800000u) return as_type<float>((254u - e) << 23);
  const ulong q = (1ul << 48) / ulong(mx);
  uint m = uint(q >> 1) + uint(q & 1ul);
  uint ex = 253u - e;
  if (m == 0x1000000u) {
    m = 0x800000u;
    ex += 1u;
  }
  return as_type<float>((ex << 23) | (m & 0x7fffffu));
}
inline float clamp_scale(float x) { return min(max(x, 7.888609052210118e-31f), 1.2676506002282294e30f); }

constant uint LOG2E_Q24 = 24204406u;
inline uint mul31(uint a, uint b) { return uint((ulong(a) * ulong(b)) >> 31); }
inline uint weight_of(float d, constant uint* tab) {
  if (!(d < 32.0f)) return 0u;
  const uint b = as_type<uint>(d);
  const uint e = (b >> 23) & 0xffu;
  if (e <= 1u) return 0x80000000u;
  const ulong pr = ulong((b & 0x7fffffu) | 0x800000u) * ulong(LOG2E_Q24);
  const uint s = 150u - e;
  const uint t = s < 64u ? uint(pr >> s) : 0u;
  const uint n = t >> 24;
  if (n >= 31u) return 0u;
  const uint fr = t & 0xffffffu;
  return mul31(tab[fr >> 16], mul31(tab[256u + ((fr >> 8) & 255u)], tab[512u + (fr & 255u)])) >> n;
}
inline uint weight_key(uint k, uint kmax, float zmax, constant uint* tab, constant SampleParams& p) {
  if (k == kmax) return 0x80000000u;
  return weight_of(canon(zmax - canon(z_of_key(k), p), p), tab);
}

inline float logprob_of(float z, float lse, constant SampleParams& p) {
  if ((as_type<uint>(lse) & 0x7f800000u) == 0x7f800000u) return fbits(F_NAN, p);
  return z - lse;
}

constant float SL_LOG2E = 1.4426950408889634f;
constant float SL_LN2 = 0.6931471805599453f;
constant float SL_NO_MAX = -3.0e38f;
inline float sl_scale_down(float s, float shift) { return ldexp(s, int(max(shift, -256.0f))); }

template <typename T>
[[kernel]] [[max_total_threads_per_threadgroup(256)]] void sample_logits(device const T* x [[buffer(0)]],
                          device uint* keys [[buffer(1)]],
                          device const float* bias [[buffer(2)]],
                          device const int* counts [[buffer(3)]],
                          device const float* temperature [[buffer(4)]],
                          device const float* rep_pen [[buffer(5)]],
                          device const float* pres_pen [[buffer(6)]],
                          device const float* freq_pen [[buffer(7)]],
                          constant SampleParams& p [[buffer(8)]],
                          uint row [[threadgroup_position_in_grid]],
                          uint lid [[thread_index_in_threadgroup]],
                          uint sg [[simdgroup_index_in_threadgroup]],
                          uint lane [[thread_index_in_simdgroup]],
                          uint nsg [[simdgroups_per_threadgroup]]) {
  threadgroup uint pu[32];
  threadgroup float pf[32];
  const float temp = (p.flags & HAS_TEMP) ? temperature[row] : 1.0f;
  const bool temp_on = temp > 0.0f;
  const float rtemp = recip_exact(clamp_scale(temp_on ? temp : 1.0f));
  const float rep = (p.flags & HAS_REP) ? rep_pen[row] : 1.0f;
  const float rep_c = clamp_scale(rep > 0.0f ? rep : 1.0f);
  const bool rep_on = rep > 0.0f && rep_c != 1.0f;
  const float rrep = recip_exact(rep_c);
  const float pres = (p.flags & HAS_PRES) ? pres_pen[row] : 0.0f;
  const float freq = (p.flags & HAS_FREQ) ? freq_pen[row] : 0.0f;
  const ulong base = ulong(row) * p.v;

  uint kmax = 0u;
  uint kid = 0xffffffffu;
  float m = SL_NO_MAX, s = 0.0f;
  for (uint j = lid; j < p.v; j += 256) {
    float a = canon(float(x[base + j]), p);
    if (p.flags & HAS_BIAS) a = canon(a + canon(bias[base + j], p), p);
    if (p.flags & HAS_COUNTS) {
      const int c = counts[base + j];
      if (c > 0) {
        if (rep_on) a = canon(a < 0.0f ? a * rep_c : a * rrep, p);
        a = canon(a - canon(canon(freq * float(min(c, 16777216)), p) + pres, p), p);
      }
    }
    if (temp_on) a = canon(a * rtemp, p);
    const uint k = key_of(a);
    keys[base + j] = k;
    if (k > kmax) {
      kmax = k;
      kid = j;
    }
    if (k != KEY_NEG_INF) {
      const float t = z_of_key(k) * SL_LOG2E;
      if (t > m) {
        const float mn = ceil(t);
        s = sl_scale_down(s, m - mn);
        m = mn;
      }
      s += precise::exp2(t - m);
    }
  }
  // Largest key, the lowest id holding it, then the (m, s) merge: SIMD-group then partials.
  uint km = simd_max(kmax);
  if (lane == 0) pu[sg] = km;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  km = 0u;
  for (uint i = 0; i < nsg; i++) km = max(km, pu[i]);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  uint id = simd_min(kmax == km ? kid : 0xffffffffu);
  if (lane == 0) pu[sg] = id;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  id = 0xffffffffu;
  for (uint i = 0; i < nsg; i++) id = min(id, pu[i]);
  float mx = simd_max(m);
  if (lane == 0) pf[sg] = mx;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  mx = pf[0];
  for (uint i = 1; i < nsg; i++) mx = max(mx, pf[i]);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float tot = simd_sum(sl_scale_down(s, m - mx));
  if (lane == 0) pf[sg] = tot;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (lid == 0) {
    tot = 0.0f;
    for (uint i = 0; i < nsg; i++) tot += pf[i];
    float lse = mx * SL_LN2 + precise::log(tot);
    if (km == KEY_POS_INF) lse = fbits(F_NAN, p);
    else if (km == KEY_NEG_INF) lse = fbits(F_NEG_INF, p);
    device uint* st = keys + p.state_base + 4u * row;
    st[0] = km;
    st[1] = id;
    st[2] = as_type<uint>(lse);
    st[3] = 0u;
  }
}

// The per-row selection state every thread sees.
struct SelRow {
  uint kmax;
  float zmax;
  ulong base;
};

inline uint2 chunk_of(uint t, uint n) {
  const uint ch = (n + 255u) / 256u;
  return uint2(min(n, t * ch), min(n, (t + 1u) * ch));
}

// The passes after top-k run over items: every id (items = (V, 0)) or the gathered top-k set
// (items = (count, 1)), in id order either way (see sample_select.wgsl).
#define SAMPLE_CAP 1024u
inline uint item_of(uint j, uint2 items, threadgroup uint* set_ids) { return items.y != 0u ? set_ids[min(j, SAMPLE_CAP - 1u)] : j; }

// The ids of every key ≥ kb, in id order, into set_ids when there are at most SAMPLE_CAP.
inline uint2 gather(uint kb, SelRow rw, device const uint* keys, threadgroup uint* ct, threadgroup uint* bc, threadgroup uint* set_ids, uint lid, constant SampleParams& p) {
  const uint2 c = chunk_of(lid, p.v);
  uint cnt = 0u;
  for (uint j = c.x; j < c.y; j++) cnt += keys[rw.base + j] >= kb ? 1u : 0u;
  ct[lid] = cnt;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (lid == 0) {
    uint tb = 0u;
    for (uint t = 0; t < 256u; t++) {
      const uint x = ct[t];
      ct[t] = tb;
      tb += x;
    }
    bc[0] = tb;
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  const uint total = bc[0];
  uint at = ct[lid];
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (total > SAMPLE_CAP) return uint2(p.v, 0u);
  for (uint j = c.x; j < c.y; j++) {
    if (keys[rw.base + j] >= kb) set_ids[at++] = j;
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  return uint2(total, 1u);
}

// The boundary of the k first keys of the order: (K, r). Every thread must call it.
inline uint2 select_count(uint k, SelRow rw, device const uint* keys, threadgroup atomic_uint* hist, threadgroup uint* bc, uint lid, constant SampleParams& p) {
  uint prefix = 0u, mask = 0u, need = k;
  for (uint d = 0; d < 4u; d++) {
    const uint shift = 24u - 8u * d;
    atomic_store_explicit(&hist[lid], 0u, memory_order_relaxed);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint j = lid; j < p.v; j += 256) {
      const uint key = keys[rw.base + j];
      if ((key & mask) == prefix) atomic_fetch_add_explicit(&hist[(key >> shift) & 255u], 1u, memory_order_relaxed);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) {
      uint b = 255u, rem = need;
      while (true) {
        const uint c = atomic_load_explicit(&hist[b], memory_order_relaxed);
        if (c >= rem || b == 0u) break;
        rem -= c;
        b -= 1u;
      }
      bc[0] = b;
      bc[1] = rem;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    prefix |= bc[0] << shift;
    mask |= 255u << shift;
    need = bc[1];
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  return uint2(prefix, need);
}

inline void hist_add(threadgroup atomic_uint* lo, threadgroup atomic_uint* hi, uint bin, ulong w) {
  const uint wl = uint(w), wh = uint(w >> 32);
  const uint old = atomic_fetch_add_explicit(&lo[bin], wl, memory_order_relaxed);
  const uint carry = old + wl < old ? 1u : 0u;
  if (wh + carry != 0u) atomic_fetch_add_explicit(&hi[bin], wh + carry, memory_order_relaxed);
}

// The top-p boundary within the top-k set bk (see sample_select.wgsl select_topp).
inline uint2 select_topp(uint P, uint2 bk, SelRow rw, uint2 items, threadgroup uint* set_ids, device const uint* keys, constant uint* tab, threadgroup atomic_uint* hlo, threadgroup atomic_uint* hhi, threadgroup uint* bc, uint lid, constant SampleParams& p) {
  uint prefix = 0u, mask = 0u;
  ulong need = 0ul;
  const uint wk = weight_key(bk.x, rw.kmax, rw.zmax, tab, p);
  for (uint d = 0; d < 4u; d++) {
    const uint shift = 24u - 8u * d;
    atomic_store_explicit(&hlo[lid], 0u, memory_order_relaxed);
    atomic_store_explicit(&hhi[lid], 0u, memory_order_relaxed);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint j = lid; j < items.x; j += 256) {
      const uint key = keys[rw.base + item_of(j, items, set_ids)];
      if ((key & mask) == prefix && key > bk.x) hist_add(hlo, hhi, (key >> shift) & 255u, weight_key(key, rw.kmax, rw.zmax, tab, p));
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) {
      if ((bk.x & mask) == prefix && bk.y > 0u) hist_add(hlo, hhi, (bk.x >> shift) & 255u, ulong(bk.y) * wk);
      ulong rem = need;
      if (d == 0u) {
        ulong wsum = 0ul;
        for (uint b = 0; b < 256u; b++) wsum += ulong(atomic_load_explicit(&hlo[b], memory_order_relaxed)) | (ulong(atomic_load_explicit(&hhi[b], memory_order_relaxed)) << 32);
        // ceil(W_k·P / 2^24) with W_k < 2^49, P ≤ 2^24: in two 32-bit halves of W_k.
        const ulong lo = ulong(uint(wsum)) * P;
        const ulong hi = ulong(uint(wsum >> 32)) * P;
        ulong tp = (hi << 8) + (lo >> 24);
        if ((lo & 0xffffffu) != 0ul) tp += 1ul;
        rem = tp == 0ul ? 1ul : tp;
      }
      uint b = 255u;
      while (true) {
        const ulong c = ulong(atomic_load_explicit(&hlo[b], memory_order_relaxed)) | (ulong(atomic_load_explicit(&hhi[b], memory_order_relaxed)) << 32);
        if (c >= rem || b == 0u) break;
        rem -= c;
        b -= 1u;
      }
      bc[0] = b;
      bc[1] = uint(rem);
      bc[2] = uint(rem >> 32);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    prefix |= bc[0] << shift;
    mask |= 255u << shift;
    need = ulong(bc[1]) | (ulong(bc[2]) << 32);
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }
  const ulong w = weight_key(prefix, rw.kmax, rw.zmax, tab, p);
  return uint2(prefix, uint((need + w - 1ul) / w));
}

inline bool shorter(uint2 a, uint2 b) { return a.x > b.x || (a.x == b.x && a.y < b.y); }

inline uint philox_x(uint4 c, uint2 k) {
  for (uint r = 0; r < 10u; r++) {
    if (r > 0u) k += uint2(0x9e3779b9u, 0xbb67ae85u);
    const ulong m0 = ulong(0xd2511f53u) * c.x;
    const ulong m1 = ulong(0xcd9e8d57u) * c.z;
    c = uint4(uint(m1 >> 32) ^ c.y ^ k.x, uint(m1), uint(m0 >> 32) ^ c.w ^ k.y, uint(m0));
  }
  return c.x;
}

[[kernel]] [[max_total_threads_per_threadgroup(256)]] void sample_select(device const uint* keys [[buffer(1)]],
                          constant uint* tab [[buffer(2)]],
                          device const float* temperature [[buffer(3)]],
                          device const int* top_k [[buffer(4)]],
                          device const float* top_p [[buffer(5)]],
                          device const float* min_p [[buffer(6)]],
                          device const uint* seeds [[buffer(7)]],
                          device const uint* offsets [[buffer(8)]],
                          device int* tokens [[buffer(9)]],
                          device float* logprobs [[buffer(10)]],
                          device int* top_ids [[buffer(11)]],
                          device float* top_lp [[buffer(12)]],
                          constant SampleParams& p [[buffer(13)]],
                          uint row [[threadgroup_position_in_grid]],
                          uint lid [[thread_index_in_threadgroup]]) {
  threadgroup atomic_uint hlo[256];
  threadgroup atomic_uint hhi[256];
  threadgroup ulong cs[256];
  threadgroup uint ct[256];
  threadgroup uint bc[4];
  threadgroup atomic_uint nsel;
  threadgroup uint sel_key[20];
  threadgroup uint sel_id[20];
  threadgroup uint set_ids[SAMPLE_CAP];

  device const uint* st = keys + p.state_base + 4u * row;
  SelRow rw;
  rw.kmax = st[0];
  rw.zmax = z_of_key(st[0]);
  rw.base = ulong(row) * p.v;
  const float lse = as_type<float>(st[2]);
  const float temp = (p.flags & HAS_TEMP) ? temperature[row] : 1.0f;
  if (rw.kmax == KEY_NEG_INF) {
    if (lid == 0) {
      tokens[row] = -1;
      logprobs[row] = fbits(F_NAN, p);
    }
  } else if (!(temp > 0.0f)) {
    if (lid == 0) {
      tokens[row] = int(st[1]);
      logprobs[row] = logprob_of(rw.zmax, lse, p);
    }
  } else {
    const int k = (p.flags & HAS_TOPK) ? top_k[row] : 0;
    uint2 bk = uint2(0u, 0u);
    uint2 items = uint2(p.v, 0u);
    if (k >= 1 && uint(k) < p.v) {
      bk = select_count(uint(k), rw, keys, hlo, bc, lid, p);
      if (uint(k) <= SAMPLE_CAP) items = gather(bk.x, rw, keys, ct, bc, set_ids, lid, p);
    }
    uint2 bf = bk;
    const float tp = (p.flags & HAS_TOPP) ? top_p[row] : 1.0f;
    if (tp < 1.0f) {
      const uint2 bp = select_topp(uint(max(tp, 0.0f) * 16777216.0f), bk, rw, items, set_ids, keys, tab, hlo, hhi, bc, lid, p);
      if (shorter(bp, bf)) bf = bp;
    }
    const float mp = (p.flags & HAS_MINP) ? min_p[row] : 0.0f;
    if (mp > 0.0f) {
      const uint thr = uint(min(mp, 1.0f) * 16777216.0f) * 128u;
      uint lo = KEY_NEG_INF, hi = rw.kmax;
      while (lo < hi) {
        const uint mid = lo + (hi - lo) / 2u;
        if (weight_key(mid, rw.kmax, rw.zmax, tab, p) >= thr) hi = mid;
        else lo = mid + 1u;
      }
      const uint2 bm = uint2(lo, ALL);
      if (shorter(bm, bf)) bf = bm;
    }
    const uint2 c = chunk_of(lid, items.x);
    ulong s = 0ul;
    uint ties = 0u;
    for (uint j = c.x; j < c.y; j++) {
      const uint key = keys[rw.base + item_of(j, items, set_ids)];
      if (key > bf.x) s += weight_key(key, rw.kmax, rw.zmax, tab, p);
      else if (key == bf.x) ties++;
    }
    cs[lid] = s;
    ct[lid] = ties;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) {
      const ulong wf = weight_key(bf.x, rw.kmax, rw.zmax, tab, p);
      ulong total = 0ul;
      uint tb = 0u;
      for (uint t = 0; t < 256u; t++) {
        const uint kt = min(ct[t], bf.y - min(tb, bf.y));
        const ulong w = cs[t] + ulong(kt) * wf;
        cs[t] = total;
        ct[t] = tb;
        total += w;
        tb += kt;
      }
      const uint offset = (p.flags & HAS_OFFSETS) ? offsets[row] : 0u;
      const uint u = philox_x(uint4(offset, 0u, 0u, 0u), uint2(seeds[2u * row], seeds[2u * row + 1u]));
      // floor(u·W / 2^32) = hi(u·W.lo) + u·W.hi.
      const ulong target = ((ulong(u) * uint(total)) >> 32) + ulong(u) * uint(total >> 32);
      uint t = 255u;
      while (!(target >= cs[t]) && t > 0u) t--;
      bc[0] = t;
      bc[1] = uint(target);
      bc[2] = uint(target >> 32);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == bc[0]) {
      const ulong target = ulong(bc[1]) | (ulong(bc[2]) << 32);
      ulong run = cs[lid];
      uint tb = ct[lid];
      int tok = -1;
      for (uint j = c.x; j < c.y; j++) {
        const uint id = item_of(j, items, set_ids);
        const uint key = keys[rw.base + id];
        bool kept = key > bf.x;
        if (key == bf.x) {
          kept = tb < bf.y;
          tb++;
        }
        if (kept) {
          run += weight_key(key, rw.kmax, rw.zmax, tab, p);
          if (target < run) {
            tok = int(id);
            break;
          }
        }
      }
      tokens[row] = tok;
      logprobs[row] = logprob_of(z_of_key(keys[rw.base + uint(max(tok, 0))]), lse, p);
    }
  }
  if (p.topn > 0u) {
    threadgroup_barrier(mem_flags::mem_threadgroup);
    const uint2 bn = select_count(p.topn, rw, keys, hlo, bc, lid, p);
    const uint2 c2 = chunk_of(lid, p.v);
    uint ties2 = 0u;
    for (uint j = c2.x; j < c2.y; j++) ties2 += keys[rw.base + j] == bn.x ? 1u : 0u;
    ct[lid] = ties2;
    if (lid == 0) atomic_store_explicit(&nsel, 0u, memory_order_relaxed);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) {
      uint tb = 0u;
      for (uint t = 0; t < 256u; t++) {
        const uint cc = ct[t];
        ct[t] = tb;
        tb += cc;
      }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint tb2 = ct[lid];
    for (uint j = c2.x; j < c2.y; j++) {
      const uint key = keys[rw.base + j];
      bool take = key > bn.x;
      if (key == bn.x) {
        take = tb2 < bn.y;
        tb2++;
      }
      if (take) {
        const uint at = atomic_fetch_add_explicit(&nsel, 1u, memory_order_relaxed);
        if (at < 20u) {
          sel_key[at] = key;
          sel_id[at] = j;
        }
      }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) {
      const uint n = min(p.topn, 20u);
      for (uint a = 1; a < n; a++) {
        const uint k0 = sel_key[a], i0 = sel_id[a];
        uint q = a;
        while (q > 0u && (sel_key[q - 1] < k0 || (sel_key[q - 1] == k0 && sel_id[q - 1] > i0))) {
          sel_key[q] = sel_key[q - 1];
          sel_id[q] = sel_id[q - 1];
          q--;
        }
        sel_key[q] = k0;
        sel_id[q] = i0;
      }
      for (uint a = 0; a < n; a++) {
        top_ids[row * p.topn + a] = int(sel_id[a]);
        top_lp[row * p.topn + a] = logprob_of(z_of_key(sel_key[a]), lse, p);
      }
    }
  }
}

template [[host_name("sample_logits_f32")]] [[kernel]] decltype(sample_logits<float>) sample_logits<float>;
template [[host_name("sample_logits_f16")]] [[kernel]] decltype(sample_logits<half>) sample_logits<half>;
template [[host_name("sample_logits_bf16")]] [[kernel]] decltype(sample_logits<bfloat>) sample_logits<bfloat>;
