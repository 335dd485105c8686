// fused_distill_loss, one workgroup a row, streamed over the vocabulary in three passes of
// word pairs (word k holds row elements 2k − par and 2k + 1 − par; elements outside the row
// are masked): 1) the maxima of s = fl(z·inv_t) and t (student, teacher), 2) Σexp(s − M)
// and Σexp(t − M), lse = M + log(Σ), 3) the divergence's terms (distill_term.wgsl) from
// lq = fl(s − lse_s), lp = fl(t − lse_t). row_loss[row0 + row] = fl(D·scale), scale = τ².
// Writes both lse for the backward.
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;

#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=zs, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=zt, DT=X_DT, BINDING=1, WRITE=0)
@group(0) @binding(2) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse_s: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse_t: array<f32>;
#include "common/reduce.wgsl"
#include "loss/distill_term.wgsl"

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

const NO_MAX: f32 = -3.0e38;

#include "common/row_entry.wgsl"
  let start = p.x_base + row * p.v;
  let par = start & 1u;
  let nwords = (p.v + par + 1u) / 2u;
  let w0 = start >> 1u;
  var ms = vec2<f32>(NO_MAX);
  var mt = vec2<f32>(NO_MAX);
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let m = vec2<bool>((j0 >= 0), (u32(j0 + 1) < p.v));
    ms = max(ms, select(vec2<f32>(NO_MAX), load2_zs(w0 + k) * p.inv_t, m));
    mt = max(mt, select(vec2<f32>(NO_MAX), load2_zt(w0 + k) * p.inv_t, m));
  }
  let max_s = wg_max(max(ms.x, ms.y), lid, sg_size);
  let max_t = wg_max(max(mt.x, mt.y), lid, sg_size);
  var acc = vec2<f32>(0.0);
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let m = vec2<bool>((j0 >= 0), (u32(j0 + 1) < p.v));
    let es = select(vec2<f32>(0.0), exp(load2_zs(w0 + k) * p.inv_t - max_s), m);
    let et = select(vec2<f32>(0.0), exp(load2_zt(w0 + k) * p.inv_t - max_t), m);
    acc = acc + vec2<f32>(es.x + es.y, et.x + et.y);
  }
  let sums = wg_sum2(acc, lid, sg_size);
  let ls = max_s + log(sums.x);
  let lt = max_t + log(sums.y);
  var tot = 0.0;
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let lq = load2_zs(w0 + k) * p.inv_t - ls;
    let lp = load2_zt(w0 + k) * p.inv_t - lt;
    if (j0 >= 0) {
      tot = tot + distill_term(lp.x, lq.x);
    }
    if (u32(j0 + 1) < p.v) {
      tot = tot + distill_term(lp.y, lq.y);
    }
  }
  let d = wg_sum(tot, lid, sg_size);
  if (lid == 0u) {
    row_loss[p.row0 + row] = d * p.scale;
    lse_s[p.row0 + row] = ls;
    lse_t[p.row0 + row] = lt;
  }
}
