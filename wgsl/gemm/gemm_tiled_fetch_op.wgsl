// gemm_tiled.wgsl's fetch for one operand: PER runs of 4 per invocation into REG (ra or rb)
// through RUN (run_a or run_b). CONTIG_K: the operand is stored with K contiguous (a
// untransposed, b transposed), else its outer dimension (m or n, tile origin O0, extent
// EXT, tile width TILE) is. BASE: the batch's first element. NORM: the operand is
// normalised as it is fetched (gemm/gemm_norm.wgsl), at its stored (row, column). K runs
// to k_end (fetch's argument); LDK (p.k) is the leading dimension where K is contiguous.
for (var i = 0u; i < PER; i = i + 1u) {
  let t = lid + i * WG;
#if CONTIG_K
  let rc = run_rc(t, true, TILE);
  let go = O0 + rc.x;
  let gk = k0 + rc.y;
  REG[i] = RUN(BASE + go * LDK + gk, run_cnt(go, EXT, gk, k_end));
#if NORM
  REG[i] = norm_run(REG[i], go, gk, LDK, run_cnt(go, EXT, gk, k_end));
#endif
#else
  let rc = run_rc(t, false, TILE);
  let gk = k0 + rc.x;
  let go = O0 + rc.y;
  REG[i] = RUN(BASE + gk * EXT + go, run_cnt(gk, k_end, go, EXT));
#if NORM
  REG[i] = norm_run(REG[i], gk, go, EXT, run_cnt(gk, k_end, go, EXT));
#endif
#endif
}
