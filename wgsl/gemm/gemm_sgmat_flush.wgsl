// The subgroup-matrix gemms' epilogue step: the 16×16 result subgroup sg staged at
// stage[sg·256..] goes to y rows r0.., columns c0.. (masked at M and N), as 16 rows × 4
// runs of 4 columns spread over the subgroup's lanes, through the common epilogue and
// dtype stores (exact RNE for f16/bf16 outputs). Called with the result just stored.
fn flush(sg: u32, lane: u32, sg_size: u32, r0: u32, c0: u32, ybz: u32) {
  workgroupBarrier();
  for (var s = lane; s < 64u; s = s + sg_size) {
    let row = r0 + s / 4u;
    let col = c0 + (s % 4u) * 4u;
    if (row < p.m && col < p.n) {
      let e = ybz + row * p.n + col;
      let src = sg * 256u + (s / 4u) * 16u + (s % 4u) * 4u;
      var v: vec4<f32>;
      for (var q = 0u; q < 4u; q = q + 1u) {
        v[q] = epilogue(stage[src + q], e + q, min(col + q, p.n - 1u));
      }
      store_run4(e, v, min(4u, p.n - col));
    }
  }
  workgroupBarrier();
}
