// kv_cache_copy, Metal 3 tier (the structure of wgsl/attention/kv_cache_copy.wgsl): threadgroup
// (tile, b) owns up to p.tile new tokens of sequence b and copies their k and v rows into the
// cache, converted to the cache's type (one round-to-nearest-even; exact conversions where the
// cache is wider). First the threadgroup checks the whole sequence — 0 ≤ position ≤
// capacity − Snew and, paged, every block-table entry its positions use names a block of the
// cache — and an invalid sequence writes nothing, so every index below is in range.
#include <metal_stdlib>
#include "attention/kv_cvt.h"
using namespace metal;

// Same fields, in order, as KV_COPY_METAL_PARAMS in src/backend/metal/launchers/kv_cache_copy.ts.
struct KvCopyParams {
  uint tile;
  uint snew;
  uint hkv;
  uint d;
  uint dv;
  uint paged;
  uint smax;
  uint block_size;
  uint num_blocks;
  uint max_blocks;
  uint capacity;
};

template <typename S, typename C>
[[kernel]] void kv_cache_copy(device const S* k [[buffer(0)]],
                              device const S* v [[buffer(1)]],
                              device C* kc [[buffer(2)]],
                              device C* vc [[buffer(3)]],
                              device const int* positions [[buffer(4)]],
                              device const int* table [[buffer(5)]],
                              constant KvCopyParams& p [[buffer(8)]],
                              uint2 tg [[threadgroup_position_in_grid]],
                              uint lid [[thread_index_in_threadgroup]],
                              uint tpg [[threads_per_threadgroup]]) {
  threadgroup atomic_uint bad;
  const uint b = tg.y;
  if (lid == 0) atomic_store_explicit(&bad, 0u, memory_order_relaxed);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  // The launcher guarantees capacity ≥ Snew ≥ 1.
  const int raw = positions[b];
  const bool pos_ok = raw >= 0 && uint(raw) <= p.capacity - p.snew;
  const uint pos = pos_ok ? uint(raw) : 0u;
  if (!pos_ok && lid == 0) atomic_fetch_add_explicit(&bad, 1u, memory_order_relaxed);
  if (p.paged) {
    const uint last = (pos + p.snew - 1) / p.block_size;
    for (uint x = pos / p.block_size + lid; x <= last; x += tpg) {
      const int e = table[b * p.max_blocks + x];
      if (e < 0 || uint(e) >= p.num_blocks) atomic_fetch_add_explicit(&bad, 1u, memory_order_relaxed);
    }
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (atomic_load_explicit(&bad, memory_order_relaxed) != 0) return;

  const uint t0 = tg.x * p.tile;
  const uint t1 = min(t0 + p.tile, p.snew);
  const uint per_tok = p.hkv * (p.d + p.dv);
  for (uint x = lid; x < (t1 - t0) * per_tok; x += tpg) {
    const uint t = t0 + x / per_tok;
    const uint r = x % per_tok;
    const bool is_v = r >= p.hkv * p.d;
    const uint hd = is_v ? p.dv : p.d;
    const uint rr = is_v ? r - p.hkv * p.d : r;
    const uint h = rr / hd;
    const uint c = rr % hd;
    const uint j = pos + t;
    const uint row = p.paged ? ((uint(table[b * p.max_blocks + j / p.block_size]) * p.block_size + j % p.block_size) * p.hkv + h) * hd
                             : ((b * p.hkv + h) * p.smax + j) * hd;
    const uint src = ((b * p.snew + t) * p.hkv + h) * hd + c;
    if (is_v) vc[row + c] = KvCvt<C, S>::run(v[src]);
    else kc[row + c] = KvCvt<C, S>::run(k[src]);
  }
}

#define kv_str_(x) #x
#define kv_str(x) kv_str_(x)
#define instantiate_kv(sname, S, cname, C) \
  template [[host_name(kv_str(kv_cache_copy_##sname##_##cname))]] [[kernel]] decltype(kv_cache_copy<S, C>) kv_cache_copy<S, C>;
#define instantiate_kv_to(cname, C)   \
  instantiate_kv(f32, float, cname, C) \
  instantiate_kv(f16, half, cname, C)  \
  instantiate_kv(bf16, bfloat, cname, C)

instantiate_kv_to(f32, float)
instantiate_kv_to(f16, half)
instantiate_kv_to(bf16, bfloat)
