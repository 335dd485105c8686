// fused_distill_loss, one workgroup a row, the vocabulary streamed in word pairs (word k holds
// row elements 2k − par and 2k + 1 − par; elements outside the row are masked). Both lse of
// s = fl(z·inv_t) and t (student, teacher) come from cross_entropy's online log2-domain sums
// (loss/lse_online.wgsl), so the row is read once for them — a row pair of 0.5 MB is gone from
// L2 by the time a second pass would reread it, so every pass is a full read from memory.
//   kl, reverse_kl, soft_ce: one pass. The divergence is an expectation under one side, w
//     (t for kl and soft_ce, s for reverse_kl), plus lse's: KL = E_p[t − s] − lse_t + lse_s,
//     reverse = E_q[s − t] − lse_s + lse_t, soft_ce = lse_s − E_p[s]. Beside w's sum
//     S = Σ 2^(w·log2e − m) the pass keeps A = Σ 2^(w·log2e − m)·d (d = t − s, s − t or s),
//     rescaled by the same exact ldexp whenever m grows: E = A/S.
//   js: two passes — its log((p + q)/2) needs both lse first: then the terms of
//     distill_term.wgsl from lq = fl(s − lse_s), lp = fl(t − lse_t) (loss/distill_js_row.wgsl).
//     PERSIST: the grid is p.groups_x workgroups, each taking rows wid, wid + groups_x, … and
//     both passes of a row back to back, so only that many rows are live between a row's two
//     reads and the second can come from L2 (launchers/distill_js_plan.ts). Each row's
//     arithmetic is the one-workgroup-a-row kernel's, so its results are the same bits.
// row_loss[row0 + row] = fl(D·scale), scale = τ². Writes both lse for the backward. The bounds
// (src/ops/fused_distill_loss/reference.ts) take the larger of this arithmetic's model and
// metal's (max, Σexp, terms).
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;

#include "common/convert.wgsl"
// js reads its rows twice through word pairs: VEC is the one-pass losses' switch.
#if LOSS == 2
#define VEC 0
#endif
#if VEC
// Rows on 16-byte boundaries (the launcher's check; one-pass losses): 16-byte loads of both
// tensors, two words of each in flight an invocation before any is absorbed.
#include "common/vec.wgsl" (DT=X_DT)
@group(0) @binding(0) var<storage, read> zsq: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> ztq: array<vec4<u32>>;
#else
#include "common/tensor.wgsl" (NAME=zs, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=zt, DT=X_DT, BINDING=1, WRITE=0)
#endif
@group(0) @binding(2) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse_s: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse_t: array<f32>;
#include "common/reduce.wgsl"
#include "loss/distill_term.wgsl"
#include "loss/lse_online.wgsl"

struct Params {
  rows: u32,
  v: u32,
  groups_x: u32,
  x_base: u32,
  row0: u32,
  inv_t: f32,
  scale: f32,
}
@group(0) @binding(5) var<uniform> p: Params;

#if LOSS == 2
#include "loss/distill_js_row.wgsl"
#endif

#if LOSS != 2
// One element into the weighting side's (m, S, A) — A rescaled with S — and the other's (m, S).
struct Absorbed {
  w: vec3<f32>,
  o: vec2<f32>,
}
fn online_a(st: vec3<f32>, x: f32, d: f32) -> vec3<f32> {
  let t = x * LOG2E;
  var m = st.x;
  var s = st.y;
  var a = st.z;
  if (t > m) {
    let mn = ceil(t);
    s = scale_down(s, m - mn);
    a = scale_down(a, m - mn);
    m = mn;
  }
  let e = exp2(t - m);
  return vec3<f32>(m, s + e, a + e * d);
}
fn absorb(st: Absorbed, xs: f32, xt: f32) -> Absorbed {
#if LOSS == 1
  return Absorbed(online_a(st.w, xs, xs - xt), online(st.o, xt));
#elif LOSS == 0
  return Absorbed(online_a(st.w, xt, xt - xs), online(st.o, xs));
#else
  return Absorbed(online_a(st.w, xt, xs), online(st.o, xs));
#endif
}
#if VEC
// Four elements of each side (x = fl(z·inv_t) already), in order.
fn absorb4(st: Absorbed, xs: vec4<f32>, xt: vec4<f32>) -> Absorbed {
  return absorb(absorb(absorb(absorb(st, xs.x, xt.x), xs.y, xt.y), xs.z, xt.z), xs.w, xt.w);
}
// One 16-byte word of each side: EPV elements.
fn absorb_word(st: Absorbed, a: vec4<u32>, b: vec4<u32>) -> Absorbed {
  var r = absorb4(st, dec_lo(a) * p.inv_t, dec_lo(b) * p.inv_t);
#if X_DT != 0
  r = absorb4(r, dec_hi(a) * p.inv_t, dec_hi(b) * p.inv_t);
#endif
  return r;
}
#endif
#endif

#if LOSS == 2 && PERSIST
// Grid-stride over the chunk's rows: the bound and step are uniform, so every invocation of a
// workgroup runs js_row's barriers together.
#include "common/wg_entry.wgsl"
  for (var row = wid.x; row < p.rows; row = row + p.groups_x) {
    let r = js_row(row, lid, sg_size);
    if (lid == 0u) {
      row_loss[p.row0 + row] = r.x * p.scale;
      lse_s[p.row0 + row] = r.y;
      lse_t[p.row0 + row] = r.z;
    }
  }
}
#else
#include "common/row_entry.wgsl"
#if LOSS == 2
  let r = js_row(row, lid, sg_size);
  let d = r.x;
  let ls = r.y;
  let lt = r.z;
#else
  let start = p.x_base + row * p.v;
  let par = start & 1u;
  let nwords = (p.v + par + 1u) / 2u;
  let w0 = start >> 1u;
  // The weighting side's running (m, S, A) and the other side's (m, S).
  var st = Absorbed(vec3<f32>(NO_MAX, 0.0, 0.0), vec2<f32>(NO_MAX, 0.0));
#if VEC
  let nv = p.v / EPV;
  let q0 = start / EPV;
  var k = lid;
  for (; k + WG < nv; k = k + 2u * WG) {
    let a0 = zsq[q0 + k];
    let b0 = ztq[q0 + k];
    let a1 = zsq[q0 + k + WG];
    let b1 = ztq[q0 + k + WG];
    st = absorb_word(absorb_word(st, a0, b0), a1, b1);
  }
  if (k < nv) {
    st = absorb_word(st, zsq[q0 + k], ztq[q0 + k]);
  }
#else
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let xs = load2_zs(w0 + k) * p.inv_t;
    let xt = load2_zt(w0 + k) * p.inv_t;
    if (j0 >= 0) {
      st = absorb(st, xs.x, xt.x);
    }
    if (u32(j0 + 1) < p.v) {
      st = absorb(st, xs.y, xt.y);
    }
  }
#endif
  let max_w = wg_max(st.w.x, lid, sg_size);
  let max_o = wg_max(st.o.x, lid, sg_size);
  let sums = wg_sum2(vec2<f32>(scale_down(st.w.y, st.w.x - max_w), scale_down(st.o.y, st.o.x - max_o)), lid, sg_size);
  let asum = wg_sum(scale_down(st.w.z, st.w.x - max_w), lid, sg_size);
  let lw = max_w * LN2 + log(sums.x);
  let lo = max_o * LN2 + log(sums.y);
  let e = asum / sums.x;
#if LOSS == 1
  let ls = lw;
  let lt = lo;
  let d = e + (lt - ls);
#elif LOSS == 0
  let ls = lo;
  let lt = lw;
  let d = e + (ls - lt);
#else
  let ls = lo;
  let lt = lw;
  let d = ls - e;
#endif
#endif
  if (lid == 0u) {
    row_loss[p.row0 + row] = d * p.scale;
    lse_s[p.row0 + row] = ls;
    lse_t[p.row0 + row] = lt;
  }
}
#endif
