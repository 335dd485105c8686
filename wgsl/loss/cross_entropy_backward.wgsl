// Cross-entropy backward: dx_j = g·(exp(z_j − lse) − c1·[j=t] − c2)·∂z_j/∂x_j (c1 = 1−ε,
// c2 = ε/V), from the forward's lse — purely elementwise, so each workgroup takes one
// chunk of WG·ITEMS words of one row (rows × chunks workgroups: few long rows still fill
// the GPU). g = g_buf[g_base + row·g_stride]: dloss per row ('none', stride 1), dloss[0]
// ('sum') or dloss[0]/count from ce_reduce.wgsl ('mean'). Ignored rows get 0 without
// reading the logits; a target outside [0, V) gives NaN for its row.
// SOFTCAP: z = cap·tanh(x/cap), ∂z/∂x = sech²(x/cap).
override WG: u32 = 256;
override ITEMS: u32 = 4;

#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=0, WRITE=0)
@group(0) @binding(1) var<storage, read> targets: array<i32>;
#include "common/tensor.wgsl" (NAME=lse, DT=DT_F32, BINDING=2, WRITE=0)
#include "common/tensor.wgsl" (NAME=g, DT=DT_F32, BINDING=3, WRITE=0)
#include "common/tensor.wgsl" (NAME=dx, DT=X_DT, BINDING=4, WRITE=1)
#include "loss/softcap.wgsl"

#include "loss/ce_backward_params.wgsl"

#include "loss/ce_grad.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let flat = wid.x + wid.y * p.groups_x;
  let row = flat / p.chunks;
  if (row >= p.rows) {
    return;
  }
  let start = row * p.v;
  let par = (p.x_base + start) & 1u;
  let nwords = (p.v + par + 1u) / 2u;
  let xw0 = (p.x_base + start) >> 1u;
  let dw0 = (p.dx_base + start) >> 1u;
  let k0 = (flat % p.chunks) * WG * ITEMS;
  let k1 = min(nwords, k0 + WG * ITEMS);

  let tgt = targets[p.t_base + row];
  let ignored = tgt == p.ignore_index;
  let invalid = !ignored && (tgt < 0 || u32(tgt) >= p.v);
  let l = load_lse(p.lse_base + row);
  let g = load_g(p.g_base + row * p.g_stride);
  for (var k = k0 + lid; k < k1; k = k + WG) {
    let j0 = i32(2u * k) - i32(par);
    var d = vec2<f32>(0.0);
    if (invalid) {
      d = vec2<f32>(quiet_nan(k));
    } else if (!ignored) {
      let xv = load2_x(xw0 + k);
      d = vec2<f32>(grad(xv.x, j0, tgt, l, g), grad(xv.y, j0 + 1, tgt, l, g));
    }
    store2_dx(dw0 + k, d, (j0 >= 0), (u32(j0 + 1) < p.v));
  }
}
