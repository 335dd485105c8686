// SwiGLU forward/backward with one 16-byte word (4 f32 or 8 f16/bf16) per invocation, for
// tensors whose element count fills whole words (the launcher checks); otherwise
// elementwise/swiglu.wgsl. Same arithmetic as that kernel, so the same bounds.
override WG: u32 = 256;

#include "common/convert.wgsl"
#include "common/sigmoid.wgsl"
#include "common/vec.wgsl" (DT=X_DT)

#if BACKWARD
@group(0) @binding(0) var<storage, read> dy: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> g: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> u: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> dg: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> du: array<vec4<u32>>;
#else
@group(0) @binding(0) var<storage, read> g: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> u: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<u32>>;
#endif

struct Params {
  count: u32,
  groups_x: u32,
  base: u32,
}
@group(0) @binding(5) var<uniform> p: Params;

fn sig4(v: vec4<f32>) -> array<vec4<f32>, 2> {
  let a = sigmoid_pair(v.x);
  let b = sigmoid_pair(v.y);
  let c = sigmoid_pair(v.z);
  let d = sigmoid_pair(v.w);
  return array<vec4<f32>, 2>(vec4<f32>(a.x, b.x, c.x, d.x), vec4<f32>(a.y, b.y, c.y, d.y));
}

#if BACKWARD
fn grads(dyv: vec4<f32>, gv: vec4<f32>, uv: vec4<f32>) -> array<vec4<f32>, 2> {
  let s = sig4(gv);
  let t = gv * s[1];
  return array<vec4<f32>, 2>(dyv * uv * s[0] * (1.0 + t), dyv * gv * s[0]);
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.x + wid.y * p.groups_x) * WG + lid;
  if (k >= p.count) {
    return;
  }
  let i = p.base + k;
  let gw = g[i];
  let uw = u[i];
#if BACKWARD
  let dw = dy[i];
  let lo = grads(dec_lo(dw), dec_lo(gw), dec_lo(uw));
  let hi = grads(dec_hi(dw), dec_hi(gw), dec_hi(uw));
  dg[i] = enc(lo[0], hi[0]);
  du[i] = enc(lo[1], hi[1]);
#else
  let glo = dec_lo(gw);
  let ghi = dec_hi(gw);
  y[i] = enc(glo * sig4(glo)[0] * dec_lo(uw), ghi * sig4(ghi)[0] * dec_hi(uw));
#endif
}
