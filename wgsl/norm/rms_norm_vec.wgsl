// RMSNorm with the row held in registers: one 16-byte load per element group, x read once.
// For rows whose byte length is a multiple of 16 and that fit WG·VPT words (the launcher
// checks); otherwise norm/rms_norm.wgsl. Same arithmetic, so the same bound.
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;
#ifndef VPT
#define VPT 4
#endif

#include "common/convert.wgsl"
#include "common/vec.wgsl" (DT=X_DT)
#include "common/reduce.wgsl"

@group(0) @binding(0) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
#if RESIDUAL
@group(0) @binding(4) var<storage, read> res: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> h: array<vec4<u32>>;
#endif

struct Params {
  rows: u32,
  nv: u32,
  groups_x: u32,
  x_base: u32,
  y_base: u32,
  res_base: u32,
  h_base: u32,
  rstd_base: u32,
  n: u32,
  eps: f32,
}
@group(0) @binding(6) var<uniform> p: Params;

#include "common/row_entry.wgsl"
  var ss = 0.0;
#include "common/slots.wgsl" (SLOT=norm/rms_vec_load.wgsl)
  let total = wg_sum(ss, lid, sg_size);
  let r = inverseSqrt(total / f32(p.n) + p.eps);
  if (lid == 0u) {
    rstd[p.rstd_base + row] = r;
  }
#include "common/slots.wgsl" (SLOT=norm/rms_vec_store.wgsl)
}
