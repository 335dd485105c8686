// Shared by the backward kernels of both tiers (attention/flash_attention_backward.metal,
// Metal 3; attention/fa_bwd_dq_mpp.metal and attention/fa_bwd_dkv_mpp.metal, Metal 4): the
// Params block, the logit and its derivative, and which rows can see a block of keys.
#pragma once
#include <metal_stdlib>
#include "attention/attention.h"
using namespace metal;

// FaParams' fields, then the backward's tiles (FA_BWD_METAL_PARAMS in
// src/backend/metal/launchers/flash_attention_backward.ts).
struct FaBwdParams {
  uint rows;
  uint batches;
  uint sq;
  uint sk;
  uint hq;
  uint hkv;
  uint group;
  uint d;
  uint dv;
  uint q_sb;
  uint q_ss;
  uint q_sh;
  uint k_sb;
  uint k_ss;
  uint k_sh;
  uint v_sb;
  uint v_ss;
  uint v_sh;
  uint o_sb;
  uint o_ss;
  uint o_sh;
  uint has_offset;
  int offset;
  int left;
  int right;
  float scale;
  float cap;
  float inv_cap;
  uint bk;
  uint bq;
};

// (z, ∂z/∂x) of a raw dot t.
inline float2 fa_logit(float t, constant FaBwdParams& p) {
  const float x = p.scale * t;
  if (!fa_has_softcap) return float2(x, 1.0f);
  const float a = fabs(x) * p.inv_cap;
  const float e = precise::exp(-2.0f * a);
  const float r = 1.0f / (1.0f + e);
  const float z = p.cap * ((1.0f - e) * r);
  return float2(x >= 0.0f ? z : -z, 4.0f * e * r * r);
}

// The sequence of packed key j < cuk[B]: the largest b with cuk[b] ≤ j.
inline uint fa_seqk_of(device const int* cuk, uint j, uint nb) {
  uint lo = 0, hi = nb - 1;
  while (lo < hi) {
    const uint mid = (lo + hi + 1) / 2;
    if (uint(cuk[mid]) <= j) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// The rows [x, y) that can see keys j0 .. j1 (j1 < sk) of a key block (none when the
// cu_seqlens are malformed), and z: whether key j belongs to a sequence (varlen: j < cuk[B]).
inline uint3 fa_bwd_key_rows(device const int* cuk, device const int* cuq, constant FaBwdParams& p, bool cu_ok, uint j0, uint j1, uint j) {
  uint ra = 0, rb = 0;
  bool key_ok = j < p.sk;
  if (cu_ok) {
    if (fa_varlen) {
      const uint kend_all = uint(cuk[p.batches]);
      key_ok = key_ok && j < kend_all;
      if (j0 < kend_all) {
        const uint bf = fa_seqk_of(cuk, j0, p.batches);
        const uint bl = fa_seqk_of(cuk, min(j1, kend_all - 1), p.batches);
        ra = uint(cuq[bf]) * p.group;
        rb = uint(cuq[bl + 1]) * p.group;
      }
    } else {
      rb = p.rows;
    }
  }
  return uint3(ra, rb, key_ok ? 1u : 0u);
}

// Whether the row block [rb0, rb1] misses keys j0 .. j1 entirely (lo/hi never decrease from
// row to row).
inline bool fa_bwd_block_misses(uint rb0, uint rb1, uint bz, uint kvh, constant FaBwdParams& p, device const int* cuq, device const int* cuk, uint j0, uint j1) {
  return fa_row(rb1, bz, kvh, true, p, cuq, cuk).hi < int(j0) || fa_row(rb0, bz, kvh, true, p, cuq, cuk).lo > int(j1);
}

// Row `row` of a row block walked by a key block: its keys [lo, hi] (lo > hi: none, also
// for rows at or past rb), (lse, D) when it sees a key, its q and o offsets (`none` past rb).
struct FaBwdRow {
  int lo;
  int hi;
  float2 ld;
  uint q;
  uint o;
};

inline FaBwdRow fa_bwd_row(uint row, uint rb, uint bz, uint kvh, constant FaBwdParams& p, device const int* cuq, device const int* cuk, device const float2* ld, uint none) {
  FaBwdRow w;
  w.lo = 1;
  w.hi = 0;
  w.ld = float2(0.0f);
  w.q = none;
  w.o = none;
  if (row < rb) {
    const FaRow g = fa_row(row, bz, kvh, true, p, cuq, cuk);
    w.lo = g.lo;
    w.hi = g.hi;
    w.q = g.q;
    w.o = g.o;
    if (g.lo <= g.hi) w.ld = ld[g.lse];
  }
  return w;
}
