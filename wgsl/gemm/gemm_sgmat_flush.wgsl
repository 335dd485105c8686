// The subgroup-matrix gemms' epilogue step: the FRU×FRU result subgroup sg staged at
// stage[sg·STG..] goes to y rows r0.., columns c0.. (masked at M and N), as FRU rows ×
// RUNS runs of 4 columns (ITEMS = FRU·RUNS in all) spread over the subgroup's lanes,
// through the common epilogue and dtype stores (exact RNE for f16/bf16 outputs). Called
// with the result just stored. Args: FRU, STG, RUNS, ITEMS (16u, 256u, 4u, 64u for 16×16).
fn flush(sg: u32, lane: u32, sg_size: u32, r0: u32, c0: u32, ybz: u32) {
  workgroupBarrier();
  for (var s = lane; s < ITEMS; s = s + sg_size) {
    let row = r0 + s / RUNS;
    let col = c0 + (s % RUNS) * 4u;
    if (row < p.m && col < p.n) {
      let e = ybz + row * p.n + col;
      let src = sg * STG + (s / RUNS) * FRU + (s % RUNS) * 4u;
      var v: vec4<f32>;
      for (var q = 0u; q < 4u; q = q + 1u) {
        v[q] = epilogue(stage[src + q], e + q, min(col + q, p.n - 1u));
      }
      store_run4(e, v, min(4u, p.n - col));
    }
  }
  workgroupBarrier();
}
