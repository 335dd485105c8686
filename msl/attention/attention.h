// Shared by the attention kernels (flash_attention.metal, flash_attention_mpp.metal,
// flash_attention_backward.metal, fa_bwd_*_mpp.metal): the function constants, the row
// geometry (over either Params struct: FaParams in fa_params.h, FaBwdParams in fa_bwd.h) and
// the varlen check; FA_TAU, FA_LOWEST and fa_softcap come from online_softmax.h.
#pragma once
#include <metal_stdlib>
#include "attention/online_softmax.h"
using namespace metal;

constant bool fa_varlen [[function_constant(0)]];
constant bool fa_has_sinks [[function_constant(1)]];
constant bool fa_has_softcap [[function_constant(2)]];

// The varlen check of both cu_seqlens (cu[0] = 0, nondecreasing, cu[B] ≤ total), by the whole
// threadgroup; every thread gets the verdict. Call from uniform control flow (barriers).
template <typename P>
inline bool fa_cu_ok(device const int* cuq, device const int* cuk, constant P& p, threadgroup atomic_uint* bad, uint lid, uint tpg) {
  if (!fa_varlen) return true;
  if (lid == 0) atomic_store_explicit(bad, 0u, memory_order_relaxed);
  threadgroup_barrier(mem_flags::mem_threadgroup);
  for (uint i = lid; i <= p.batches; i += tpg) {
    bool b = false;
    for (uint which = 0; which < 2; which++) {
      device const int* cu = which == 0 ? cuq : cuk;
      const uint total = which == 0 ? p.sq : p.sk;
      if (i == 0) b = b || cu[0] != 0;
      if (i < p.batches) b = b || cu[i] > cu[i + 1];
      else b = b || cu[i] < 0 || uint(cu[i]) > total;
    }
    if (b) atomic_fetch_add_explicit(bad, 1u, memory_order_relaxed);
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  return atomic_load_explicit(bad, memory_order_relaxed) == 0;
}

struct FaRow {
  int lo;
  int hi;
  uint q;
  uint o;
  uint lse;
  uint h;
  bool pad;  // a packed token past the last sequence (varlen): not a query, no sink
};

// The sequence of packed query token t < cuq[B]: the largest b with cuq[b] ≤ t.
inline uint fa_seq_of(device const int* cuq, uint t, uint nb) {
  uint lo = 0, hi = nb - 1;
  while (lo < hi) {
    const uint mid = (lo + hi + 1) / 2;
    if (uint(cuq[mid]) <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// Row r of the (batch bz, kv head kvh) problem: query position r / G of head kvh·G + r % G.
// Its keys [lo, hi] only when `keys` (the cu_seqlens are valid), else lo = 0, hi = −1. lo/hi
// never decrease from row to row (clamped into the sequence), so a block's key range is its
// first row's lo to its last row's hi.
template <typename P>
inline FaRow fa_row(uint r, uint bz, uint kvh, bool keys, constant P& p, device const int* cuq, device const int* cuk) {
  const uint h = kvh * p.group + r % p.group;
  const uint s = r / p.group;
  FaRow g;
  g.h = h;
  g.lo = 0;
  g.hi = -1;
  g.pad = false;
  if (fa_varlen) {
    g.q = s * p.q_ss + h * p.q_sh;
    g.o = s * p.o_ss + h * p.o_sh;
    g.lse = h * p.sq + s;
    if (!keys) return g;
    const uint nb = p.batches;
    if (s >= uint(cuq[nb])) {
      g.lo = cuk[nb];
      g.hi = cuk[nb] - 1;
      g.pad = true;
      return g;
    }
    const uint b = fa_seq_of(cuq, s, nb);
    const int q0 = cuq[b], k0 = cuk[b];
    const int sqb = cuq[b + 1] - q0, skb = cuk[b + 1] - k0;
    const int pos = (int(s) - q0) + (p.has_offset ? p.offset : skb - sqb);
    g.lo = k0 + clamp(pos - p.left, 0, skb);
    g.hi = k0 + clamp(pos + p.right, -1, skb - 1);
  } else {
    g.q = bz * p.q_sb + s * p.q_ss + h * p.q_sh;
    g.o = bz * p.o_sb + s * p.o_ss + h * p.o_sh;
    g.lse = (bz * p.hq + h) * p.sq + s;
    if (!keys) return g;
    const int sk = int(p.sk);
    const int pos = int(s) + (p.has_offset ? p.offset : sk - int(p.sq));
    g.lo = clamp(pos - p.left, 0, sk);
    g.hi = clamp(pos + p.right, -1, sk - 1);
  }
  return g;
}
