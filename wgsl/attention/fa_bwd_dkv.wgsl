// Flash attention backward, dk (DV_PASS = 0) or dv (DV_PASS = 1) ('portable' tier, every dtype):
// a workgroup owns BKV keys of one (batch, kv head), 8 invocations a key, lane l owning the
// 8-element words l, l+8, … of the key's output; the K (and, for dk, V) tile stays in
// workgroup memory while the workgroup walks the query rows that can see its keys (rows of
// every query head of the kv head; varlen: the rows of the sequences its keys belong to) in
// blocks of p.bq, skipping blocks whose key range misses its keys. Per (key, row), computed
// by lane row % 8 of the key: z, P = exp(z − lse) (0 where the row does not see the key) and,
// for dk, dX = P·(dO·v − D)·∂z/∂x; through workgroup memory every lane then accumulates
// dv += P·dO or dk += dX·q over the block's rows, reading dO / q rows from memory. dk is
// scale·acc. Two kernels rather than one so each binds at most 8 storage buffers. Keys past
// the last sequence (varlen) get 0; malformed cu_seqlens NaN. Deterministic (fixed order).
// Defines: Q_DT, MAXD, BKV, BQ, DV_PASS.
#ifndef MAXD
#define MAXD 64
#endif
#ifndef BKV
#define BKV 8
#endif
#ifndef BQ
#define BQ 32
#endif
#if DV_PASS
#define NEEDS_V 0
#else
#define NEEDS_V 1
#endif

const TPR: u32 = 8u;
const WG: u32 = BKV * TPR;
const CPW: u32 = MAXD / 64;
const MAXD4: u32 = MAXD / 4;

#include "attention/fa_bwd_common.wgsl"

var<workgroup> ks: array<vec4<f32>, BKV * MAXD4>;
#if DV_PASS == 0
var<workgroup> vs: array<vec4<f32>, BKV * MAXD4>;
#endif
// Per (key, row) of the block: P (dv) or dX (dk); per row: its keys, (lse, D), q and dO offsets.
var<workgroup> px: array<f32, BKV * BQ>;
var<workgroup> rlo: array<i32, BQ>;
var<workgroup> rhi: array<i32, BQ>;
var<workgroup> rld: array<vec2<f32>, BQ>;
var<workgroup> rq: array<u32, BQ>;
var<workgroup> ro: array<u32, BQ>;
var<workgroup> cu_bad_count: atomic<u32>;
var<workgroup> cu_bad_flag: u32;

#include "attention/fa_seqk.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let gid = wid.x + wid.y * p.groups_x;
  if (gid >= p.groups) {
    return;
  }
  let kblk = gid % p.blocks;
  let kvh = (gid / p.blocks) % p.hkv;
  let bz = gid / (p.blocks * p.hkv);
#include "attention/fa_validate.wgsl"

  let jj = lid / TPR;
  let lane = lid % TPR;
  let j0 = kblk * BKV;
  let j = j0 + jj;
  let j1 = min(j0 + BKV, p.sk) - 1u;
  let dw = p.d / 8u;
  let dvw = p.dv / 8u;
  let d4 = p.d / 4u;
  let dv4 = p.dv / 4u;
  let kb = p.k_base + bz * p.k_sb + kvh * p.k_sh;
  let vb = p.v_base + bz * p.v_sb + kvh * p.v_sh;

#include "attention/fa_bwd_keyrows.wgsl" (KEY=j)

  for (var e = lid; e < BKV * dw; e = e + WG) {
    let kk = j0 + e / dw;
    let c8 = e % dw;
    var x = V8(vec4<f32>(0.0), vec4<f32>(0.0));
    if (kk <= j1) {
      x = ld8_k(kb + kk * p.k_ss + c8 * 8u);
    }
    ks[(e / dw) * d4 + 2u * c8] = x.lo;
    ks[(e / dw) * d4 + 2u * c8 + 1u] = x.hi;
  }
#if DV_PASS == 0
  for (var e = lid; e < BKV * dvw; e = e + WG) {
    let kk = j0 + e / dvw;
    let c8 = e % dvw;
    var x = V8(vec4<f32>(0.0), vec4<f32>(0.0));
    if (kk <= j1) {
      x = ld8_v(vb + kk * p.v_ss + c8 * 8u);
    }
    vs[(e / dvw) * dv4 + 2u * c8] = x.lo;
    vs[(e / dvw) * dv4 + 2u * c8 + 1u] = x.hi;
  }
#endif

  var acc: array<vec4<f32>, 2 * CPW>;
#if DV_PASS
  let ow = dvw;
#else
  let ow = dw;
#endif
  for (var rb0 = ra; rb0 < rb; rb0 = rb0 + BQ) {
    let rb1 = min(rb0 + BQ, rb) - 1u;
    // Skip blocks whose rows see none of these keys (their key ranges are monotone in the row).
    if (row_geom(rb1, bz, kvh, true).hi < i32(j0) || row_geom(rb0, bz, kvh, true).lo > i32(j1)) {
      continue;
    }
    workgroupBarrier();
#include "attention/fa_bwd_rowdata.wgsl" (NROWS=BQ)
    workgroupBarrier();
    // Lane `lane` of key jj: rows lane, lane + 8, … of the block.
    for (var t = lane; t < BQ; t = t + TPR) {
      var val = 0.0;
      if (key_ok && i32(j) >= rlo[t] && i32(j) <= rhi[t]) {
        var qk = 0.0;
        for (var c = 0u; c < dw; c = c + 1u) {
          let a = ld8_q(rq[t] + 8u * c);
          qk = qk + dot(a.lo, ks[jj * d4 + 2u * c]) + dot(a.hi, ks[jj * d4 + 2u * c + 1u]);
        }
        let zs = logit(qk);
        let pp = exp(zs.x - rld[t].x);
#if DV_PASS
        val = pp;
#else
        var dp = 0.0;
        for (var c = 0u; c < dvw; c = c + 1u) {
          let a = ld8_dO(ro[t] + 8u * c);
          dp = dp + dot(a.lo, vs[jj * dv4 + 2u * c]) + dot(a.hi, vs[jj * dv4 + 2u * c + 1u]);
        }
        val = pp * (dp - rld[t].y) * zs.y;
#endif
      }
      px[jj * BQ + t] = val;
    }
    workgroupBarrier();
    for (var t = 0u; t < p.bq; t = t + 1u) {
      let w8 = px[jj * BQ + t];
      if (w8 != 0.0) {
        for (var i = 0u; i < CPW; i = i + 1u) {
          let w = lane + i * TPR;
          if (w < ow) {
#if DV_PASS
            let x = ld8_dO(ro[t] + 8u * w);
#else
            let x = ld8_q(rq[t] + 8u * w);
#endif
            acc[2u * i] = acc[2u * i] + w8 * x.lo;
            acc[2u * i + 1u] = acc[2u * i + 1u] + w8 * x.hi;
          }
        }
      }
    }
  }

  if (j < p.sk) {
    let nan = quiet_nan(lid);
#if DV_PASS
    let sc = 1.0;
    let ostride = p.v_ss;
    let osh = p.v_sh;
    let osb = p.v_sb;
#else
    let sc = p.scale;
    let ostride = p.k_ss;
    let osh = p.k_sh;
    let osb = p.k_sb;
#endif
    let oe = p.out_base + bz * osb + j * ostride + kvh * osh;
    for (var i = 0u; i < CPW; i = i + 1u) {
      let w = lane + i * TPR;
      if (w < ow) {
        var lo = sc * acc[2u * i];
        var hi = sc * acc[2u * i + 1u];
        if (!cu_ok) {
          lo = vec4<f32>(nan);
          hi = vec4<f32>(nan);
        }
        st8_out(oe + w * 8u, lo, hi);
      }
    }
  }
}
