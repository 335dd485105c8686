// RMSNorm over rows: y = h · w / sqrt(mean(h²) + eps), h = x (+ residual), one workgroup a
// row. Writes rstd (f32) for the backward and, with RESIDUAL, h as the new residual.
// RSTD_ONLY: rstd alone (fused_norm_lora, whose gemms normalise x as they load it).
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;

#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=0, WRITE=0)
#if !RSTD_ONLY
#include "common/tensor.wgsl" (NAME=w, DT=X_DT, BINDING=1, WRITE=0)
#include "common/tensor.wgsl" (NAME=y, DT=X_DT, BINDING=2, WRITE=1)
#endif
#include "common/tensor.wgsl" (NAME=rstd, DT=DT_F32, BINDING=3, WRITE=1)
#if RESIDUAL
#include "common/tensor.wgsl" (NAME=res, DT=X_DT, BINDING=4, WRITE=0)
#include "common/tensor.wgsl" (NAME=h, DT=X_DT, BINDING=5, WRITE=1)
#endif
#include "common/reduce.wgsl"

struct Params {
  rows: u32,
  n: u32,
  groups_x: u32,
  x_base: u32,
  y_base: u32,
  res_base: u32,
  h_base: u32,
  rstd_base: u32,
  eps: f32,
}
@group(0) @binding(6) var<uniform> p: Params;

// Row element pair k: its value of h (x + residual, in f32).
fn h_pair(xw: u32, rw: u32) -> vec2<f32> {
#if RESIDUAL
  return load2_x(xw) + load2_res(rw);
#else
  return load2_x(xw);
#endif
}

#include "common/row_entry.wgsl"
  let start = row * p.n;
  // All bindings share the row's parity (their windows start at even offsets), so word k of
  // the row is at (base + start) / 2 + k in each.
  let par = (p.x_base + start) & 1u;
  let nwords = (p.n + par + 1u) / 2u;
  let xw0 = (p.x_base + start) >> 1u;
  let rw0 = (p.res_base + start) >> 1u;

  var ss = 0.0;
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    var v = h_pair(xw0 + k, rw0 + k);
    v = select(vec2<f32>(0.0), v, vec2<bool>((j0 >= 0), (u32(j0 + 1) < p.n)));
    ss = ss + v.x * v.x + v.y * v.y;
  }
  let total = wg_sum(ss, lid, sg_size);
  let r = inverseSqrt(total / f32(p.n) + p.eps);
  if (lid == 0u) {
    store_rstd(p.rstd_base + row, r);
  }
#if !RSTD_ONLY
  let yw0 = (p.y_base + start) >> 1u;
  let hw0 = (p.h_base + start) >> 1u;
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let m0 = j0 >= 0;
    let m1 = u32(j0 + 1) < p.n;
    let v = h_pair(xw0 + k, rw0 + k);
    let wv = vec2<f32>(load_w(u32(max(j0, 0))), load_w(min(u32(j0 + 1), p.n - 1u)));
    store2_y(yw0 + k, v * r * wv, m0, m1);
#if RESIDUAL
    store2_h(hw0 + k, v, m0, m1);
#endif
  }
#endif
}
