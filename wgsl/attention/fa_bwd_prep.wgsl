// Flash attention backward, step 1: per query row the pair (lse, D = dO·o) into an f32
// scratch laid out like lse — the one input the dq/dk/dv kernels read per row (so each binds
// at most 8 storage buffers, WebGPU's default limit). Row idx of the dispatch is (b, h, s) with
// s fastest, as lse. D is a Dv-term f32 dot (γ_Dv in src/ops/flash_attention_backward/bounds.ts).
// Defines: Q_DT.
override WG: u32 = 64;

#include "common/convert.wgsl"
#include "common/vec.wgsl" (DT=Q_DT)

struct V8 {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

@group(0) @binding(0) var<storage, read> o: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> dO: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> ld: array<vec2<f32>>;
#include "attention/fa_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;
#include "attention/fa_load8.wgsl" (NAME=o, DT=Q_DT)
#include "attention/fa_load8.wgsl" (NAME=dO, DT=Q_DT)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * p.groups_x) * WG + lid;
  if (idx >= p.rows) {
    return;
  }
  let s = idx % p.sq;
  let h = (idx / p.sq) % p.hq;
  let b = idx / (p.sq * p.hq);
  let off = b * p.o_sb + s * p.o_ss + h * p.o_sh;
  var d = 0.0;
  for (var c = 0u; c < p.dv; c = c + 8u) {
    let x = ld8_o(p.o_base + off + c);
    let y = ld8_dO(p.do_base + off + c);
    d = d + dot(x.lo, y.lo) + dot(x.hi, y.hi);
  }
  ld[p.ld_base + idx] = vec2<f32>(lse[p.lse_base + idx], d);
}
