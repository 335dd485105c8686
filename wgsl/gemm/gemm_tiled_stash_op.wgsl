// gemm_tiled.wgsl's stash for one operand: REG (ra or rb) into ARR (As or Bs, stored
// [k][outer] as vec4 along the outer dimension of TILE). CONTIG_K as in
// gemm_tiled_fetch_op.wgsl: a run along k is scattered over 4 rows of ARR.
for (var i = 0u; i < PER; i = i + 1u) {
  let t = lid + i * WG;
#if CONTIG_K
  let rc = run_rc(t, true, TILE);
  for (var j = 0u; j < 4u; j = j + 1u) {
    ARR[(rc.y + j) * (TILE / 4u) + rc.x / 4u][rc.x % 4u] = REG[i][j];
  }
#else
  let rc = run_rc(t, false, TILE);
  ARR[rc.x * (TILE / 4u) + rc.y / 4u] = REG[i];
#endif
}
