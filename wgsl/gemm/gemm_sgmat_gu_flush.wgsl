// gemm_sgmat_vec.wgsl's GU epilogue step: the 16×16 gate result subgroup sg staged at
// stage[sg·256..] and the up result of the same h columns at stage2[sg·256..] go to h rows
// r0.., columns c0.. (masked at M and I) as h = silu(g)·u with g and u first rounded to the
// output dtype — exactly what the two projections' stores and swiglu's kernel compute
// (swiglu_vec.wgsl: (g·σ(g))·u, σ from common/sigmoid.wgsl), so fused_mlp's bound holds
// unchanged. Same item layout as flush (16 rows × 4 runs of 4 columns).
#include "common/round_dt.wgsl" (DT=Y_DT)

fn flush_gu(sg: u32, lane: u32, sg_size: u32, r0: u32, c0: u32, ybz: u32) {
  workgroupBarrier();
  for (var s = lane; s < 64u; s = s + sg_size) {
    let row = r0 + s / 4u;
    let col = c0 + (s % 4u) * 4u;
    if (row < p.m && col < p.n) {
      let e = ybz + row * p.n + col;
      let src = sg * 256u + (s / 4u) * 16u + (s % 4u) * 4u;
      var v: vec4<f32>;
      for (var q = 0u; q < 4u; q = q + 1u) {
        let g = round_dt(stage[src + q]);
        let u = round_dt(stage2[src + q]);
        v[q] = g * sigmoid_pair(g).x * u;
      }
      store_run4(e, v, min(4u, p.n - col));
    }
  }
  workgroupBarrier();
}
