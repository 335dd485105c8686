// quantized_gemm, decode path (M ≤ 16): y[i, n] = Σ_k x[i, k]·W[n, k], W streamed once.
// A workgroup is 8 groups of 32 invocations; group g owns column wid.x·8 + g (one row of W,
// contiguous in memory) and its lanes stride along K in runs of 8 weights (one decode8 per
// run, shared by every row of x; four runs in flight), each keeping M partial sums. The 32
// partials of each output are added by a tree in workgroup memory, or (SUBGROUPS) by
// subgroup shuffles within min(32, subgroup size) lanes and the few block sums through
// workgroup memory; only the M rows that exist are reduced. f32
// accumulation in any order: the bound of src/ops/quantized_gemm/spec.ts.
#if SUBGROUPS
enable subgroups;
#endif
#include "quant/qgemm_common.wgsl"

// Rows of x per pass: the launcher's power of two ≥ M (1–16), so an M = 1 decode carries no
// unused accumulators (and the shader stays small).
#ifndef ROWS
#define ROWS 16
#endif
const MT: u32 = ROWS;
const NB: u32 = 8u;
const WG: u32 = 256u;

var<workgroup> red: array<f32, MT * WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
#if SUBGROUPS
        @builtin(subgroup_size) sg_size: u32,
#endif
) {
  let g = lid / 32u;
  let l = lid % 32u;
  let col = wid.x * NB + g;
  var acc: array<f32, MT>;
  for (var i = 0u; i < MT; i = i + 1u) {
    acc[i] = 0.0;
  }
  if (col < p.n) {
    let runs = p.k / 8u;
    // Four runs in flight per lane (a coalesced 32-lane sweep each), then the rest one by one.
    // With 8 or more rows the rows' own loads are in flight together: no unrolling (it would
    // also make the shader slow to compile: 4 × ROWS inlined 16-bit x decodes).
    var r = l;
    for (; MT < 8u && r + 96u < runs; r = r + 128u) {
      let w0 = decode8(col, r * 8u);
      let w1 = decode8(col, (r + 32u) * 8u);
      let w2 = decode8(col, (r + 64u) * 8u);
      let w3 = decode8(col, (r + 96u) * 8u);
      for (var i = 0u; i < MT; i = i + 1u) {
        if (i < p.m) {
          let e = p.x_base + i * p.k + r * 8u;
          let x0 = load_x8(e);
          let x1 = load_x8(e + 256u);
          let x2 = load_x8(e + 512u);
          let x3 = load_x8(e + 768u);
          acc[i] = acc[i] + ((dot(x0.lo, w0.lo) + dot(x0.hi, w0.hi)) + (dot(x1.lo, w1.lo) + dot(x1.hi, w1.hi)) + (dot(x2.lo, w2.lo) + dot(x2.hi, w2.hi)) + (dot(x3.lo, w3.lo) + dot(x3.hi, w3.hi)));
        }
      }
    }
    for (; r < runs; r = r + 32u) {
      let w = decode8(col, r * 8u);
      for (var i = 0u; i < MT; i = i + 1u) {
        if (i < p.m) {
          let xv = load_x8(p.x_base + i * p.k + r * 8u);
          acc[i] = acc[i] + (dot(xv.lo, w.lo) + dot(xv.hi, w.hi));
        }
      }
    }
  }
#if SUBGROUPS
  // Butterfly over aligned blocks of bs = min(32, sg_size) lanes: every lane of a block ends
  // with the block's sum; the first lane of each block leaves it for the lane that stores.
  let bs = min(32u, sg_size);
  for (var i = 0u; i < MT; i = i + 1u) {
    if (i < p.m) {
      var v = acc[i];
      for (var o = 16u; o > 0u; o = o >> 1u) {
        if (o < bs) {
          v = v + subgroupShuffleXor(v, o);
        }
      }
      if (l % bs == 0u) {
        red[i * WG + lid] = v;
      }
    }
  }
  workgroupBarrier();
  if (l < p.m && col < p.n) {
    var s = 0.0;
    for (var j = 0u; j < 32u; j = j + bs) {
      s = s + red[l * WG + g * 32u + j];
    }
    store_y(p.y_base + l * p.ldy + col, s);
  }
#else
  for (var i = 0u; i < MT; i = i + 1u) {
    if (i < p.m) {
      red[i * WG + lid] = acc[i];
    }
  }
  for (var s = 16u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (l < s) {
      for (var i = 0u; i < MT; i = i + 1u) {
        if (i < p.m) {
          red[i * WG + lid] = red[i * WG + lid] + red[i * WG + lid + s];
        }
      }
    }
  }
  workgroupBarrier();
  // Lane i of group g writes row i of column col.
  if (l < p.m && col < p.n) {
    store_y(p.y_base + l * p.ldy + col, red[l * WG + g * 32u]);
  }
#endif
}
