// Shared by the decode_attention kernels (decode_attention.metal, Metal 3;
// decode_attention_mpp.metal, Metal 4): the Params block, the sequence check, where a key's
// row lives in a contiguous or paged cache, and which keys a row sees. FA_TAU, FA_LOWEST and
// fa_softcap come from online_softmax.h.
#pragma once
#include <metal_stdlib>
#include "attention/online_softmax.h"
using namespace metal;

// Same fields, in order, as DECODE_METAL_PARAMS in src/backend/metal/launchers/decode_attention.ts.
struct DecodeParams {
  uint rows;
  uint splits;
  uint split_len;
  uint batches;
  uint t;
  uint hq;
  uint hkv;
  uint group;
  uint d;
  uint dv;
  uint bk;
  uint bq;
  uint paged;
  uint smax;
  uint block_size;
  uint num_blocks;
  uint max_blocks;
  uint capacity;
  uint rec;
  uint has_sinks;
  uint has_cap;
  int left;
  float scale;
  float cap;
  float inv_cap;
};

// Whether sequence b can be read, and its length (0 when not); every thread gets both.
inline bool da_seq(device const int* lengths, device const int* table, constant DecodeParams& p, uint b, threadgroup atomic_uint* bad, uint lid, uint tpg, thread uint& len) {
  if (lid == 0) atomic_store_explicit(bad, 0u, memory_order_relaxed);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  const int raw = lengths[b];
  const bool ok = raw >= 0 && uint(raw) <= p.capacity;
  len = ok ? uint(raw) : 0u;
  if (!ok && lid == 0) atomic_fetch_add_explicit(bad, 1u, memory_order_relaxed);
  if (p.paged) {
    const uint used = (len + p.block_size - 1) / p.block_size;
    for (uint x = lid; x < used; x += tpg) {
      const int e = table[b * p.max_blocks + x];
      if (e < 0 || uint(e) >= p.num_blocks) atomic_fetch_add_explicit(bad, 1u, memory_order_relaxed);
    }
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  return atomic_load_explicit(bad, memory_order_relaxed) == 0;
}

// Element offset of key j's row (kv head kvh, head dim hd) of sequence b.
inline uint da_key_row(device const int* table, constant DecodeParams& p, uint b, uint kvh, uint j, uint hd) {
  if (p.paged) {
    const uint blk = uint(table[b * p.max_blocks + j / p.block_size]);
    return ((blk * p.block_size + j % p.block_size) * p.hkv + kvh) * hd;
  }
  return ((b * p.hkv + kvh) * p.smax + j) * hd;
}

// Keys [lo, hi] (positions; empty when lo > hi) of row r — query token r / G at position
// len − T + r / G — within the split [s0, s1].
inline int2 da_keys(constant DecodeParams& p, uint len, uint r, int s0, int s1) {
  const int pos = int(len) - int(p.t) + int(r / p.group);
  return int2(max(max(pos - p.left, 0), s0), min(pos, s1));
}
