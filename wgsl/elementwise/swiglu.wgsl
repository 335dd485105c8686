// SwiGLU forward (y = silu(g)·u) and, with BACKWARD, its gradients
// dgate = dy·u·σ·(1 + g·(1−σ)), dup = dy·g·σ. One invocation per element pair.
override WG: u32 = 256;

#include "common/convert.wgsl"
#include "common/sigmoid.wgsl"
#if BACKWARD
#include "common/tensor.wgsl" (NAME=dy, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=g, DT=X_DT, BINDING=1, WRITE=0)
#include "common/tensor.wgsl" (NAME=u, DT=X_DT, BINDING=2, WRITE=0)
#include "common/tensor.wgsl" (NAME=dg, DT=X_DT, BINDING=3, WRITE=1)
#include "common/tensor.wgsl" (NAME=du, DT=X_DT, BINDING=4, WRITE=1)
#else
#include "common/tensor.wgsl" (NAME=g, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=u, DT=X_DT, BINDING=1, WRITE=0)
#include "common/tensor.wgsl" (NAME=y, DT=X_DT, BINDING=2, WRITE=1)
#endif

struct Params {
  count: u32,
  groups_x: u32,
  base: u32,
}
@group(0) @binding(5) var<uniform> p: Params;

#include "common/flat.wgsl"

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let f = flat_pos(wid, lid);
  if (!f.valid) {
    return;
  }
  let g = load2_g(f.word);
  let u = load2_u(f.word);
  let s0 = sigmoid_pair(g.x);
  let s1 = sigmoid_pair(g.y);
  let s = vec2<f32>(s0.x, s1.x);
#if BACKWARD
  let dy = load2_dy(f.word);
  let t = g * vec2<f32>(s0.y, s1.y);
  store2_dg(f.word, dy * u * s * (1.0 + t), f.m0, f.m1);
  store2_du(f.word, dy * g * s, f.m0, f.m1);
#else
  store2_y(f.word, g * s * u, f.m0, f.m1);
#endif
}
