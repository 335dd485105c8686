// RMSNorm backward with the row held in registers, for rows whose byte length is a multiple
// of 16 and that fit WG·VPT words (the launcher checks; otherwise rms_norm_backward.wgsl +
// rms_norm_dw.wgsl). dy and x are read once and dx written once:
//   dx_j = r·w_j·dy_j − x_j·(r³/N)·Σ_i dy_i·w_i·x_i
// Workgroup b handles rows [b·R, b·R + R) one at a time (R = block_rows), the next row's
// dy and x words fetched while this row is reduced (rmsb_vec_next), and keeps its
// columns' dw partial Σ dy·x·r in registers across them; at the end it writes the partial
// (f32) to part[b] and rms_norm_dw.wgsl (PARTIAL=0) sums the partials in a fixed order,
// so dw is deterministic without float atomics. Same products and sums as the streaming
// kernels in another (fixed) order, so the spec's bound holds unchanged.
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

@group(0) @binding(0) var<storage, read> dy: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4<u32>>;
// [blocks, n] f32, or dw itself when one block covers every row.
@group(0) @binding(4) var<storage, read_write> part: array<vec4<f32>>;
#if HAS_RSTD
@group(0) @binding(5) var<storage, read> rstd: array<f32>;
#endif

struct Params {
  rows: u32,
  nv: u32,
  n: u32,
  block_rows: u32,
  x_base: u32,
  part_base: u32,
  rstd_base: u32,
  eps: f32,
}
@group(0) @binding(6) var<uniform> p: Params;

#include "common/wg_entry.wgsl"
  // The launcher dispatches ceil(rows / R) blocks, so no block is empty.
  let r0 = wid.x * p.block_rows;
  let r1 = min(p.rows, r0 + p.block_rows);
#include "common/slots.wgsl" (SLOT=norm/rmsb_vec_init.wgsl)
  for (var row = r0; row < r1; row = row + 1u) {
    let base = p.x_base + row * p.nv;
#include "common/slots.wgsl" (SLOT=norm/rmsb_vec_next.wgsl)
    var sdot = 0.0;
    var ss = 0.0;
#include "common/slots.wgsl" (SLOT=norm/rmsb_vec_dot.wgsl)
#if HAS_RSTD
    let tdot = wg_sum(sdot, lid, sg_size);
    let r = rstd[p.rstd_base + row];
#else
    // Both sums in one reduction (one set of barriers per row).
    let t2 = wg_sum2(vec2<f32>(sdot, ss), lid, sg_size);
    let tdot = t2.x;
    let r = inverseSqrt(t2.y / f32(p.n) + p.eps);
#endif
    let c = r * r * r / f32(p.n) * tdot;
#include "common/slots.wgsl" (SLOT=norm/rmsb_vec_store.wgsl)
  }
  // This block's partial row: n/4 vec4<f32> (n is a multiple of 4 on this path).
  let pb = p.part_base + wid.x * (p.n / 4u);
#include "common/slots.wgsl" (SLOT=norm/rmsb_vec_part.wgsl)
}
