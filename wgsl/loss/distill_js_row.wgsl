// fused_distill_loss's js row (included by loss/distill.wgsl, LOSS == 2): pass 1 takes both
// lse, pass 2 the terms of distill_term.wgsl from lq = fl(s − lse_s), lp = fl(t − lse_t), both
// passes over word pairs (word k holds row elements 2k − par and 2k + 1 − par; elements outside
// the row are masked). Called by every invocation of the workgroup from uniform control flow
// (its reductions barrier).
//   JS_U: word pairs of each side an invocation loads before it uses any. Its words are still
//   taken in the order k = lid, lid + WG, … and each goes through the same operations, so the
//   sums, and the results, are the same for every JS_U — only more loads are in flight, which
//   the persistent plan (few workgroups an SM) needs. The unrolled loop covers k while all JS_U
//   words lie in the row (k + (JS_U − 1)·WG < nwords), the one-word loop the rest.
#ifndef JS_U
#define JS_U 1
#endif

// Both sides' running (m, s), one word pair in (x = fl(z·inv_t) already).
struct LsePair {
  s: vec2<f32>,
  t: vec2<f32>,
}
fn js_absorb(st: LsePair, xs: vec2<f32>, xt: vec2<f32>, j0: i32) -> LsePair {
  var r = st;
  if (j0 >= 0) {
    r.s = online(r.s, xs.x);
    r.t = online(r.t, xt.x);
  }
  if (u32(j0 + 1) < p.v) {
    r.s = online(r.s, xs.y);
    r.t = online(r.t, xt.y);
  }
  return r;
}
// One word pair's terms into the invocation's running total.
fn js_terms(tot: f32, lp: vec2<f32>, lq: vec2<f32>, j0: i32) -> f32 {
  var r = tot;
  if (j0 >= 0) {
    r = r + distill_term(lp.x, lq.x);
  }
  if (u32(j0 + 1) < p.v) {
    r = r + distill_term(lp.y, lq.y);
  }
  return r;
}

// (D, lse_s, lse_t) of chunk row `row`.
fn js_row(row: u32, lid: u32, sg_size: u32) -> vec3<f32> {
  let start = p.x_base + row * p.v;
  let par = start & 1u;
  let nwords = (p.v + par + 1u) / 2u;
  let w0 = start >> 1u;
  var st = LsePair(vec2<f32>(NO_MAX, 0.0), vec2<f32>(NO_MAX, 0.0));
  var k = lid;
  for (; k + (JS_U - 1u) * WG < nwords; k = k + JS_U * WG) {
    var zs: array<vec2<f32>, JS_U>;
    var zt: array<vec2<f32>, JS_U>;
#for UI JS_U
    zs[UI] = load2_zs(w0 + k + UI * WG);
    zt[UI] = load2_zt(w0 + k + UI * WG);
#endfor
#for UI JS_U
    st = js_absorb(st, zs[UI] * p.inv_t, zt[UI] * p.inv_t, i32(2u * (k + UI * WG)) - i32(par));
#endfor
  }
  for (; k < nwords; k = k + WG) {
    st = js_absorb(st, load2_zs(w0 + k) * p.inv_t, load2_zt(w0 + k) * p.inv_t, i32(2u * k) - i32(par));
  }
  let max_s = wg_max(st.s.x, lid, sg_size);
  let max_t = wg_max(st.t.x, lid, sg_size);
  let sums = wg_sum2(vec2<f32>(scale_down(st.s.y, st.s.x - max_s), scale_down(st.t.y, st.t.x - max_t)), lid, sg_size);
  let ls = max_s * LN2 + log(sums.x);
  let lt = max_t * LN2 + log(sums.y);
  var tot = 0.0;
  k = lid;
  for (; k + (JS_U - 1u) * WG < nwords; k = k + JS_U * WG) {
    var zs: array<vec2<f32>, JS_U>;
    var zt: array<vec2<f32>, JS_U>;
#for UI JS_U
    zs[UI] = load2_zs(w0 + k + UI * WG);
    zt[UI] = load2_zt(w0 + k + UI * WG);
#endfor
#for UI JS_U
    tot = js_terms(tot, zt[UI] * p.inv_t - lt, zs[UI] * p.inv_t - ls, i32(2u * (k + UI * WG)) - i32(par));
#endfor
  }
  for (; k < nwords; k = k + WG) {
    tot = js_terms(tot, load2_zt(w0 + k) * p.inv_t - lt, load2_zs(w0 + k) * p.inv_t - ls, i32(2u * k) - i32(par));
  }
  return vec3<f32>(wg_sum(tot, lid, sg_size), ls, lt);
}
