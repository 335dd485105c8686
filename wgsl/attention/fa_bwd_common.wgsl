// The pieces the backward's dq and dk/dv kernels share: bindings (q, k, v, dO, the (lse, D)
// scratch, cu_seqlens), Params and the row geometry, 8-element loads, the output, the logit.
// In these kernels Params.o_base is dO's base (dO has o's layout) and lse_base indexes the
// scratch, so RowGeom.o / .lse point into dO / the scratch.

#include "common/convert.wgsl"
#include "common/vec.wgsl" (DT=Q_DT)
#include "loss/softcap.wgsl"

struct V8 {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

@group(0) @binding(0) var<storage, read> q: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<u32>>;
#if NEEDS_V
@group(0) @binding(2) var<storage, read> v: array<vec4<u32>>;
#endif
@group(0) @binding(3) var<storage, read> dO: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> ld: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> cuq: array<i32>;
@group(0) @binding(7) var<storage, read> cuk: array<i32>;
#include "attention/fa_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;
#include "attention/fa_rows.wgsl"
#include "attention/fa_load8.wgsl" (NAME=q, DT=Q_DT)
#include "attention/fa_load8.wgsl" (NAME=k, DT=Q_DT)
#if NEEDS_V
#include "attention/fa_load8.wgsl" (NAME=v, DT=Q_DT)
#endif
#include "attention/fa_load8.wgsl" (NAME=dO, DT=Q_DT)

fn st8_out(e: u32, lo: vec4<f32>, hi: vec4<f32>) {
#if Q_DT == 0
  out[e / 4u] = bitcast<vec4<u32>>(lo);
  out[e / 4u + 1u] = bitcast<vec4<u32>>(hi);
#else
  out[e / 8u] = enc(lo, hi);
#endif
}

// (z, ∂z/∂x) of a raw dot t: x = scale·t, then the softcap (sech² from the same exp).
fn logit(t: f32) -> vec2<f32> {
  let x = p.scale * t;
  if (p.has_cap != 0u) {
    return softcap(x, p.cap, p.inv_cap);
  }
  return vec2<f32>(x, 1.0);
}

// q·k over the head dim from global memory (8 elements a step).
fn dot_qk(qe: u32, ke: u32) -> f32 {
  var t = 0.0;
  for (var c = 0u; c < p.d; c = c + 8u) {
    let a = ld8_q(qe + c);
    let b = ld8_k(ke + c);
    t = t + dot(a.lo, b.lo) + dot(a.hi, b.hi);
  }
  return t;
}

const LOWEST: f32 = -0x1.fffffep+127f;
