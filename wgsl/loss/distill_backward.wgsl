// fused_distill_loss_backward, one workgroup a row, word pairs as distill.wgsl: with
// lq = fl(fl(z·inv_t) − lse_s), lp likewise (the forward's lse), c = fl(g·tau) (g = dloss[r],
// dloss[0] or dloss[0] / total by G_MODE 0/1/2):
//   kl, soft_ce:     dz = c·(exp(lq) − exp(lp))
//   reverse_kl, js:  a first pass H = Σ exp(lq)·h (distill_h), then dz = c·(exp(lq)·(h − H))
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;

#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=zs, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=zt, DT=X_DT, BINDING=1, WRITE=0)
@group(0) @binding(2) var<storage, read> lse_s: array<f32>;
@group(0) @binding(3) var<storage, read> lse_t: array<f32>;
@group(0) @binding(4) var<storage, read> dloss: array<f32>;
#include "common/tensor.wgsl" (NAME=dz, DT=X_DT, BINDING=5, WRITE=1)
#include "common/reduce.wgsl"
#include "loss/distill_term.wgsl"

struct Params {
  rows: u32,
  v: u32,
  groups_x: u32,
  x_base: u32,
  row0: u32,
  g_mode: u32,
  total: u32,
  inv_t: f32,
  tau: f32,
}
@group(0) @binding(6) var<uniform> p: Params;

#include "common/row_entry.wgsl"
  let r = p.row0 + row;
  var g = dloss[0];
  if (p.g_mode == 0u) {
    g = dloss[r];
  } else if (p.g_mode == 2u) {
    g = dloss[0] / f32(p.total);
  }
  let c = g * p.tau;
  let ls = lse_s[r];
  let lt = lse_t[r];
  let start = p.x_base + row * p.v;
  let par = start & 1u;
  let nwords = (p.v + par + 1u) / 2u;
  let w0 = start >> 1u;
#if LOSS == 1 || LOSS == 2
  var acc = 0.0;
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let lq = load2_zs(w0 + k) * p.inv_t - ls;
    let lp = load2_zt(w0 + k) * p.inv_t - lt;
    if (j0 >= 0) {
      acc = acc + exp(lq.x) * distill_h(lp.x, lq.x);
    }
    if (u32(j0 + 1) < p.v) {
      acc = acc + exp(lq.y) * distill_h(lp.y, lq.y);
    }
  }
  let hm = wg_sum(acc, lid, sg_size);
#endif
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let lq = load2_zs(w0 + k) * p.inv_t - ls;
    let lp = load2_zt(w0 + k) * p.inv_t - lt;
#if LOSS == 1 || LOSS == 2
    let gx = exp(lq.x) * (distill_h(lp.x, lq.x) - hm);
    let gy = exp(lq.y) * (distill_h(lp.y, lq.y) - hm);
#else
    let gx = exp(lq.x) - exp(lp.x);
    let gy = exp(lq.y) - exp(lp.y);
#endif
    store2_dz(w0 + k, c * vec2<f32>(gx, gy), j0 >= 0, u32(j0 + 1) < p.v);
  }
}
