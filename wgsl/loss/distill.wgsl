// fused_distill_loss, one workgroup a row, streamed over the vocabulary in two passes of
// word pairs (word k holds row elements 2k − par and 2k + 1 − par; elements outside the row
// are masked): 1) both lse of s = fl(z·inv_t) and t (student, teacher) at once, through
// cross_entropy's online log2-domain sum (loss/lse_online.wgsl: one read of the row where a
// max pass then a sum pass read it twice — a row pair of 0.5 MB is gone from L2 between
// passes, so each pass is a full read from memory), 2) the divergence's terms
// (distill_term.wgsl) from lq = fl(s − lse_s), lp = fl(t − lse_t).
// row_loss[row0 + row] = fl(D·scale), scale = τ². Writes both lse for the backward. The
// lse bound is the larger of this online sum's (cross_entropy's lseError) and the two-pass
// one's (metal's kernel): src/ops/fused_distill_loss/reference.ts.
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

const NO_MAX: f32 = -3.0e38;

#include "common/row_entry.wgsl"
  let start = p.x_base + row * p.v;
  let par = start & 1u;
  let nwords = (p.v + par + 1u) / 2u;
  let w0 = start >> 1u;
  // Each invocation's running (m, s) of the student's and the teacher's x = fl(z·inv_t).
  var sts = vec2<f32>(NO_MAX, 0.0);
  var stt = vec2<f32>(NO_MAX, 0.0);
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let xs = load2_zs(w0 + k) * p.inv_t;
    let xt = load2_zt(w0 + k) * p.inv_t;
    if (j0 >= 0) {
      sts = online(sts, xs.x);
      stt = online(stt, xt.x);
    }
    if (u32(j0 + 1) < p.v) {
      sts = online(sts, xs.y);
      stt = online(stt, xt.y);
    }
  }
  let max_s = wg_max(sts.x, lid, sg_size);
  let max_t = wg_max(stt.x, lid, sg_size);
  let sums = wg_sum2(vec2<f32>(scale_down(sts.y, sts.x - max_s), scale_down(stt.y, stt.x - max_t)), lid, sg_size);
  let ls = max_s * LN2 + log(sums.x);
  let lt = max_t * LN2 + log(sums.y);
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
