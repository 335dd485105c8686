// Flash attention forward, SIMT: the 'portable' and 'subgroups' tiers (every dtype; f16/bf16
// read as packed 32-bit words, all arithmetic in f32). Never forms [Sq, Sk].
//
// A workgroup owns BQ problem rows of one (batch, kv head) — rows are (query, head) pairs of
// the G query heads sharing that kv head (fa_rows.wgsl), so each K/V tile serves them all —
// and walks the block's key range in tiles of BK keys staged in workgroup memory as f32.
// Each row has 8 invocations ("lanes"); lane l owns the 8-element words l, l+8, … of the
// row's output accumulator (whole 16-byte words: no two invocations share a stored word)
// and the scores of keys l, l+8, … of a tile.
// Per tile: scores s = scale·q·k (softcapped), masked by the row's visible range [lo, hi];
// online softmax with a lazy rescale — the running max m moves only when a tile's max
// exceeds m + TAU (so every weight exp(s − m) ≤ e^TAU and a row rescales at most
// 1 + range/TAU times: the bound in src/ops/flash_attention_forward/bounds.ts); then
// acc += p·v. At the end o = acc / l and lse = m + log(l) (a row that saw nothing: 0, −∞).
// Portable: a row's scores go through workgroup memory and every lane evaluates all BK
// weights of its row (identically). SUBGROUPS: the row max is a subgroupShuffleXor reduction
// over the row's lanes, weights reach the other lanes by subgroupShuffle (the launcher takes
// this kernel only where subgroups have ≥ 8 invocations; a row's lanes are contiguous).
// KV_SHARED: K and V tiles share one buffer (V loaded after the scores), for adapters whose
// workgroup memory cannot hold both.
// Head dims, varlen, sinks and softcap are runtime values (Params) and the loops over them
// have runtime bounds: one pipeline per dtype, head-dim class MAXD (64, 128, 256: D and Dv
// ≤ MAXD) and tile, which keeps the number of pipelines — and the driver's compile time,
// large on software Vulkan for unrolled loops — small. sinks/cuq/cuk are always bound (the
// launcher binds q there when the call has none; they are read only when enabled).
// Defines: Q_DT, MAXD, BQ, BK, SUBGROUPS, KV_SHARED.
#if SUBGROUPS
enable subgroups;
#endif

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
// Scores per lane (≤ 4: they live in a vec4) and output words per lane.
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
@group(0) @binding(3) var<storage, read_write> o: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read> sinks: array<f32>;
@group(0) @binding(6) var<storage, read> cuq: array<i32>;
@group(0) @binding(7) var<storage, read> cuk: array<i32>;
#include "attention/fa_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;
#include "attention/fa_rows.wgsl"
#include "attention/fa_load8.wgsl" (NAME=q, DT=Q_DT)
#include "attention/fa_load8.wgsl" (NAME=k, DT=Q_DT)
#include "attention/fa_load8.wgsl" (NAME=v, DT=Q_DT)

fn st8_o(e: u32, lo: vec4<f32>, hi: vec4<f32>) {
#if Q_DT == 0
  o[e / 4u] = bitcast<vec4<u32>>(lo);
  o[e / 4u + 1u] = bitcast<vec4<u32>>(hi);
#else
  o[e / 8u] = enc(lo, hi);
#endif
}

var<workgroup> qs: array<vec4<f32>, BQ * MAXD4>;
#if KV_SHARED
var<workgroup> kvs: array<vec4<f32>, BK * MAXD4>;
#define KBUF kvs
#define VBUF kvs
#else
var<workgroup> ks: array<vec4<f32>, BK * MAXD4>;
var<workgroup> vs: array<vec4<f32>, BK * MAXD4>;
#define KBUF ks
#define VBUF vs
#endif
#if SUBGROUPS == 0
var<workgroup> ss: array<f32, BQ * BK>;
#endif
var<workgroup> cu_bad_count: atomic<u32>;
var<workgroup> cu_bad_flag: u32;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
#if SUBGROUPS
        @builtin(subgroup_invocation_id) sg_lane: u32,
#endif
) {
  let gid = wid.x + wid.y * p.groups_x;
  if (gid >= p.groups) {
    return;
  }
  let blk = gid % p.blocks;
  let kvh = (gid / p.blocks) % p.hkv;
  let bz = gid / (p.blocks * p.hkv);
#include "attention/fa_validate.wgsl"

  // The block's key range: its first row's lo to its last row's hi (workgroup-uniform).
  let r_first = blk * BQ;
  let r_last = min(r_first + BQ, p.rows) - 1u;
  let kstart = row_geom(r_first, bz, kvh, cu_ok).lo;
  let kend = row_geom(r_last, bz, kvh, cu_ok).hi;

  let rr = lid / TPR;
  let lane = lid % TPR;
  let r = r_first + rr;
  let in_rows = r < p.rows;
  let live = in_rows && cu_ok;
  let g = row_geom(min(r, p.rows - 1u), bz, kvh, cu_ok);
  let d4 = p.d / 4u;
  let dv4 = p.dv / 4u;
  let dw = p.d / 8u;
  let dvw = p.dv / 8u;

  for (var c8 = lane; c8 < dw; c8 = c8 + TPR) {
    var x = V8(vec4<f32>(0.0), vec4<f32>(0.0));
    if (live) {
      x = ld8_q(g.q + c8 * 8u);
    }
    qs[rr * d4 + 2u * c8] = x.lo;
    qs[rr * d4 + 2u * c8 + 1u] = x.hi;
  }

  var m = LOWEST;
  var l = 0.0;
  if (p.has_sinks != 0u && live && !g.pad) {
    // The sink joins the denominator once per row (lane 0's partial sum under SUBGROUPS).
    m = sinks[p.sink_base + g.h];
#if SUBGROUPS
    l = select(0.0, 1.0, lane == 0u);
#else
    l = 1.0;
#endif
  }
  var acc: array<vec4<f32>, 2 * CPW>;

  let kb = p.k_base + bz * p.k_sb + kvh * p.k_sh;
  let vb = p.v_base + bz * p.v_sb + kvh * p.v_sh;
  for (var k0 = kstart; k0 <= kend; k0 = k0 + i32(BK)) {
    workgroupBarrier();
    for (var e = lid; e < BK * dw; e = e + WG) {
      let jj = e / dw;
      let c8 = e % dw;
      let j = k0 + i32(jj);
      var x = V8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (j <= kend) {
        x = ld8_k(kb + u32(j) * p.k_ss + c8 * 8u);
      }
      KBUF[jj * d4 + 2u * c8] = x.lo;
      KBUF[jj * d4 + 2u * c8 + 1u] = x.hi;
    }
#if KV_SHARED == 0
#include "attention/fa_load_v.wgsl"
#endif
    workgroupBarrier();

    // This lane's scores: keys lane, lane + 8, … of the tile.
    var dots = vec4<f32>(0.0);
    for (var c = 0u; c < d4; c = c + 1u) {
      let qv = qs[rr * d4 + c];
      for (var t = 0u; t < NS; t = t + 1u) {
        dots[t] = dots[t] + dot(qv, KBUF[(t * TPR + lane) * d4 + c]);
      }
    }
    var sc = vec4<f32>(LOWEST);
    for (var t = 0u; t < NS; t = t + 1u) {
      var x = p.scale * dots[t];
      if (p.has_cap != 0u) {
        x = softcap(x, p.cap, p.inv_cap).x;
      }
      let j = k0 + i32(t * TPR + lane);
      sc[t] = select(LOWEST, x, live && j >= g.lo && j <= g.hi);
#if SUBGROUPS == 0
      ss[rr * BK + t * TPR + lane] = sc[t];
#endif
    }
#if KV_SHARED
    workgroupBarrier();
#include "attention/fa_load_v.wgsl"
    workgroupBarrier();
#elif SUBGROUPS == 0
    workgroupBarrier();
#endif

    var mt = LOWEST;
#if SUBGROUPS
    mt = max(max(sc.x, sc.y), max(sc.z, sc.w));
    for (var x = 1u; x < TPR; x = x << 1u) {
      mt = max(mt, subgroupShuffleXor(mt, x));
    }
#else
    for (var jj = 0u; jj < p.bk; jj = jj + 1u) {
      mt = max(mt, ss[rr * BK + jj]);
    }
#endif
    if (mt > m + TAU) {
      let alpha = select(exp(m - mt), 0.0, m == LOWEST);
      l = l * alpha;
      for (var c = 0u; c < 2u * CPW; c = c + 1u) {
        acc[c] = acc[c] * alpha;
      }
      m = mt;
    }

#if SUBGROUPS
    let row_lane0 = sg_lane - lane;
    var pw = vec4<f32>(0.0);
    for (var t = 0u; t < NS; t = t + 1u) {
      let j = k0 + i32(t * TPR + lane);
      pw[t] = select(0.0, exp(sc[t] - m), live && j >= g.lo && j <= g.hi);
      l = l + pw[t];
    }
    for (var jj = 0u; jj < p.bk; jj = jj + 1u) {
      let pj = subgroupShuffle(pw[jj / TPR], row_lane0 + jj % TPR);
#include "attention/fa_pv.wgsl"
    }
#else
    for (var jj = 0u; jj < p.bk; jj = jj + 1u) {
      let j = k0 + i32(jj);
      let pj = select(0.0, exp(ss[rr * BK + jj] - m), live && j >= g.lo && j <= g.hi);
      l = l + pj;
#include "attention/fa_pv.wgsl"
    }
#endif
  }
#if SUBGROUPS
  for (var x = 1u; x < TPR; x = x << 1u) {
    l = l + subgroupShuffleXor(l, x);
  }
#endif

  if (in_rows) {
    let nan = quiet_nan(lid);
    let empty = l == 0.0;
    for (var i = 0u; i < CPW; i = i + 1u) {
      let w = lane + i * TPR;
      if (w < dvw) {
        var lo = select(acc[2u * i] / l, vec4<f32>(0.0), empty);
        var hi = select(acc[2u * i + 1u] / l, vec4<f32>(0.0), empty);
        if (!cu_ok) {
          lo = vec4<f32>(nan);
          hi = vec4<f32>(nan);
        }
        st8_o(g.o + w * 8u, lo, hi);
      }
    }
    if (lane == 0u) {
      let ninf = bitcast<f32>(0xff800000u | (lid & 0u));
      lse[g.lse] = select(select(m + log(l), ninf, empty), nan, !cu_ok);
    }
  }
}
