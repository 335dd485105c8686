// RMSNorm backward, one workgroup a row:
//   dx_j = r·w_j·dy_j − x_j·(r³/N)·Σ_i dy_i·w_i·x_i
// r comes from the forward's rstd (HAS_RSTD) or is recomputed; it is written to `rs` for
// the dw column sums (rms_norm_dw.wgsl).
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;

#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=dy, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=1, WRITE=0)
#include "common/tensor.wgsl" (NAME=w, DT=X_DT, BINDING=2, WRITE=0)
#include "common/tensor.wgsl" (NAME=dx, DT=X_DT, BINDING=3, WRITE=1)
#include "common/tensor.wgsl" (NAME=rs, DT=DT_F32, BINDING=4, WRITE=1)
#if HAS_RSTD
#include "common/tensor.wgsl" (NAME=rstd, DT=DT_F32, BINDING=5, WRITE=0)
#endif
#include "common/reduce.wgsl"

struct Params {
  rows: u32,
  n: u32,
  groups_x: u32,
  x_base: u32,
  rs_base: u32,
  rstd_base: u32,
  eps: f32,
}
@group(0) @binding(6) var<uniform> p: Params;

#include "common/row_entry.wgsl"
  let start = row * p.n;
  let par = (p.x_base + start) & 1u;
  let nwords = (p.n + par + 1u) / 2u;
  let w0 = (p.x_base + start) >> 1u;

  var dot = 0.0;
  var ss = 0.0;
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let msk = vec2<bool>((j0 >= 0), (u32(j0 + 1) < p.n));
    let xv = select(vec2<f32>(0.0), load2_x(w0 + k), msk);
    let dyv = select(vec2<f32>(0.0), load2_dy(w0 + k), msk);
    let wv = vec2<f32>(load_w(u32(max(j0, 0))), load_w(min(u32(j0 + 1), p.n - 1u)));
    dot = dot + dyv.x * wv.x * xv.x + dyv.y * wv.y * xv.y;
    ss = ss + xv.x * xv.x + xv.y * xv.y;
  }
  let tdot = wg_sum(dot, lid, sg_size);
#if HAS_RSTD
  let r = load_rstd(p.rstd_base + row);
#else
  let r = inverseSqrt(wg_sum(ss, lid, sg_size) / f32(p.n) + p.eps);
#endif
  if (lid == 0u) {
    store_rs(p.rs_base + row, r);
  }
  let c = r * r * r / f32(p.n) * tdot;
  for (var k = lid; k < nwords; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    let xv = load2_x(w0 + k);
    let dyv = load2_dy(w0 + k);
    let wv = vec2<f32>(load_w(u32(max(j0, 0))), load_w(min(u32(j0 + 1), p.n - 1u)));
    store2_dx(w0 + k, r * wv * dyv - xv * c, j0 >= 0, u32(j0 + 1) < p.n);
  }
}
