// Row softmax with the row held in registers: x read once, y written once. For rows whose
// byte length is a multiple of 16 that fit WG·VPT words (the launcher checks); otherwise
// softmax/softmax.wgsl. The arithmetic is the same — every term exp(z − max) once — so the
// same bound holds.
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
#include "softmax/sm_row.wgsl"

@group(0) @binding(0) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<u32>>;

struct Params {
  rows: u32,
  nv: u32,
  groups_x: u32,
  x_base: u32,
  y_base: u32,
  sq: u32,
  row0: u32,
  offset: i32,
  scale: f32,
  n: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

const LOWEST: f32 = -0x1.fffffep+127f;

// Lanes of a word whose column lies at or past `limit` are masked out.
fn live(k: u32, half: u32, limit: u32) -> vec4<bool> {
  let c = k * EPV + half * 4u;
  return vec4<bool>(c < limit, c + 1u < limit, c + 2u < limit, c + 3u < limit);
}

fn hmax(v: vec4<f32>) -> f32 {
  return max(max(v.x, v.y), max(v.z, v.w));
}

#include "common/row_entry.wgsl"
#if CAUSAL
  let limit = causal_limit((p.row0 + row) % p.sq, p.offset, p.n);
#else
  let limit = p.n;
#endif
  var m = LOWEST;
#include "common/slots.wgsl" (SLOT=softmax/sm_vec_load.wgsl)
  let mx = wg_max(m, lid, sg_size);
  var s = 0.0;
#include "common/slots.wgsl" (SLOT=softmax/sm_vec_exp.wgsl)
  let total = wg_sum(s, lid, sg_size);
  // Σexp = 0 when no key is visible (a negative queryOffset: the row is all 0) or every
  // visible entry is −Inf (those entries are NaN, as torch.softmax; masked ones stay 0).
  let nan = vec4<f32>(sm_nan(p.n));
  let some = vec4<bool>(total > 0.0);
#include "common/slots.wgsl" (SLOT=softmax/sm_vec_store.wgsl)
}
