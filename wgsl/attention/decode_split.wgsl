// decode_attention, pass 1 ('portable' tier, every dtype): a workgroup owns BQ problem rows —
// (query token, head) pairs of the G query heads of one kv head — of one sequence, and one
// split of its keys ([s·L, s·L + L) ∩ [0, length)), in tiles of BK keys through workgroup
// memory (f32), 8 invocations a row as wgsl/attention/fa_forward.wgsl's portable path: the
// same scores (scale, softcap, the row's causal/window range), the same lazy rescale (TAU),
// acc += p·v. It writes the split's partial (m, l, acc) unnormalised; decode_reduce.wgsl
// combines the splits. Keys are read through the cache layout: contiguous rows, or the block
// table (an entry is read only after the sequence passed decode_seq.wgsl's check, so every
// index is in range). Query t sits at position length − T + t. Defines: Q_DT, MAXD, BQ, BK.
#ifndef MAXD
#define MAXD 64
#endif
#ifndef BQ
#define BQ 8
#endif
#ifndef BK
#define BK 16
#endif

const TPR: u32 = 8u;
const WG: u32 = BQ * TPR;
const NS: u32 = BK / TPR;
const CPW: u32 = MAXD / 64;
const MAXD4: u32 = MAXD / 4;
const TAU: f32 = 8.0;
const LOWEST: f32 = -0x1.fffffep+127f;

#include "common/convert.wgsl"
#include "common/vec.wgsl" (DT=Q_DT)
#include "loss/softcap.wgsl"

struct V8 {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

@group(0) @binding(0) var<storage, read> q: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> lengths: array<i32>;
@group(0) @binding(4) var<storage, read> table: array<i32>;
@group(0) @binding(5) var<storage, read_write> part: array<vec4<f32>>;
#include "attention/decode_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;
#include "attention/fa_load8.wgsl" (NAME=q, DT=Q_DT)
#include "attention/fa_load8.wgsl" (NAME=k, DT=Q_DT)
#include "attention/fa_load8.wgsl" (NAME=v, DT=Q_DT)

var<workgroup> ks: array<vec4<f32>, BK * MAXD4>;
var<workgroup> vs: array<vec4<f32>, BK * MAXD4>;
var<workgroup> ss: array<f32, BQ * BK>;
var<workgroup> seq_bad_count: atomic<u32>;
var<workgroup> seq_bad_flag: u32;

// Element offset of key j's row (kv head kvh, head dim hd) of sequence b.
fn key_row(b: u32, kvh: u32, j: u32, hd: u32) -> u32 {
  if (p.paged != 0u) {
    let blk = u32(table[p.table_base + b * p.max_blocks + j / p.block_size]);
    return ((blk * p.block_size + j % p.block_size) * p.hkv + kvh) * hd;
  }
  return ((b * p.hkv + kvh) * p.smax + j) * hd;
}

// Keys [lo, hi] of row r (positions; empty when lo > hi), within split [s0, s1].
fn row_keys(r: u32, len: u32, s0: i32, s1: i32) -> vec2<i32> {
  let pos = i32(len) - i32(p.t) + i32(r / p.group);
  return vec2<i32>(max(max(pos - p.left, 0), s0), min(pos, s1));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gid = wid.x + wid.y * p.groups_x;
  if (gid >= p.groups) {
    return;
  }
  let blk = gid % p.blocks;
  let s = (gid / p.blocks) % p.splits;
  let kvh = (gid / (p.blocks * p.splits)) % p.hkv;
  let b = gid / (p.blocks * p.splits * p.hkv);
#include "attention/decode_seq.wgsl"

  let s0 = i32(s * p.split_len);
  let s1 = min(i32((s + 1u) * p.split_len), i32(seq_len)) - 1;
  let r_first = blk * BQ;
  let r_last = min(r_first + BQ, p.rows) - 1u;
  var kstart = 0;
  var kend = -1;
  if (seq_ok) {
    kstart = row_keys(r_first, seq_len, s0, s1).x;
    kend = row_keys(r_last, seq_len, s0, s1).y;
  }

  let rr = lid / TPR;
  let lane = lid % TPR;
  let r = r_first + rr;
  let in_rows = r < p.rows;
  let live = in_rows && seq_ok;
  let rk = row_keys(min(r, p.rows - 1u), seq_len, s0, s1);
  let t = min(r, p.rows - 1u) / p.group;
  let h = kvh * p.group + min(r, p.rows - 1u) % p.group;
  let qe = p.q_base + ((b * p.t + t) * p.hq + h) * p.d;
  let d4 = p.d / 4u;
  let dv4 = p.dv / 4u;
  let dw = p.d / 8u;
  let dvw = p.dv / 8u;

  var m = LOWEST;
  var l = 0.0;
  var acc: array<vec4<f32>, 2 * CPW>;
  for (var k0 = kstart; k0 <= kend; k0 = k0 + i32(BK)) {
    workgroupBarrier();
    for (var e = lid; e < BK * dw; e = e + WG) {
      let jj = e / dw;
      let c8 = e % dw;
      let j = k0 + i32(jj);
      var x = V8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (j <= kend) {
        x = ld8_k(p.k_base + key_row(b, kvh, u32(j), p.d) + c8 * 8u);
      }
      ks[jj * d4 + 2u * c8] = x.lo;
      ks[jj * d4 + 2u * c8 + 1u] = x.hi;
    }
    for (var e = lid; e < BK * dvw; e = e + WG) {
      let jj = e / dvw;
      let c8 = e % dvw;
      let j = k0 + i32(jj);
      var x = V8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (j <= kend) {
        x = ld8_v(p.v_base + key_row(b, kvh, u32(j), p.dv) + c8 * 8u);
      }
      vs[jj * dv4 + 2u * c8] = x.lo;
      vs[jj * dv4 + 2u * c8 + 1u] = x.hi;
    }
    workgroupBarrier();
    for (var tt = 0u; tt < NS; tt = tt + 1u) {
      let jj = tt * TPR + lane;
      let j = k0 + i32(jj);
      var sv = LOWEST;
      if (live && j >= rk.x && j <= rk.y) {
        var dt = 0.0;
        for (var c = 0u; c < dw; c = c + 1u) {
          let a = ld8_q(qe + 8u * c);
          dt = dt + dot(a.lo, ks[jj * d4 + 2u * c]) + dot(a.hi, ks[jj * d4 + 2u * c + 1u]);
        }
        sv = p.scale * dt;
        if (p.has_cap != 0u) {
          sv = softcap(sv, p.cap, p.inv_cap).x;
        }
      }
      ss[rr * BK + jj] = sv;
    }
    workgroupBarrier();
    var mt = LOWEST;
    for (var jj = 0u; jj < p.bk; jj = jj + 1u) {
      mt = max(mt, ss[rr * BK + jj]);
    }
    if (mt > m + TAU) {
      let alpha = select(exp(m - mt), 0.0, m == LOWEST);
      l = l * alpha;
      for (var c = 0u; c < 2u * CPW; c = c + 1u) {
        acc[c] = acc[c] * alpha;
      }
      m = mt;
    }
    for (var jj = 0u; jj < p.bk; jj = jj + 1u) {
      let j = k0 + i32(jj);
      let pj = select(0.0, exp(ss[rr * BK + jj] - m), live && j >= rk.x && j <= rk.y);
      l = l + pj;
      for (var i = 0u; i < CPW; i = i + 1u) {
        let w = lane + i * TPR;
        if (w < dvw) {
          acc[2u * i] = acc[2u * i] + pj * vs[jj * dv4 + 2u * w];
          acc[2u * i + 1u] = acc[2u * i + 1u] + pj * vs[jj * dv4 + 2u * w + 1u];
        }
      }
    }
  }

  // The partial of (b, h, t, s): word 0 = (m, l), then Dv/4 words of acc.
  if (in_rows) {
    let rec = p.part_base + (((b * p.hq + h) * p.t + t) * p.splits + s) * p.rec_words;
    if (lane == 0u) {
      part[rec] = vec4<f32>(m, l, 0.0, 0.0);
    }
    for (var i = 0u; i < CPW; i = i + 1u) {
      let w = lane + i * TPR;
      if (w < dvw) {
        part[rec + 1u + 2u * w] = acc[2u * i];
        part[rec + 2u + 2u * w] = acc[2u * i + 1u];
      }
    }
  }
}
