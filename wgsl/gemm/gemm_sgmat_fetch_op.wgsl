// gemm_sgmat_fetch.wgsl for one operand: SRC (a or b) → registers REG (ra or rb), PER words
// per invocation, V words per staged row. ROWS_K: the staged rows run along K (a with
// TRANS_A, b without TRANS_B), else along the operand's outer dimension, whose tile origin
// is O0 (m0 or n0) and extent EXT (p.m or p.n). BASE: the batch's first word. K runs to
// KEND (k_end: gemm_common.wgsl's K_RANGE); LDK (p.k) is the leading dimension of an operand
// stored [outer, K]. NRM: the operand is normalised (gemm_sgmat_norm.wgsl): its row's rs,
// the 8 halves of g at its column and the keep bits go to registers NR, NG, NK. Either way (gr, gc) is the stored row and column.
for (var i = 0u; i < PER; i = i + 1u) {
  let t = lid + i * WGT;
  let r = t / V;
  let c = (t % V) * 8u;
#if ROWS_K
  let gr = KN + r;
  let gc = O0 + c;
  let ok = gr < KEND && gc < EXT;
  let ldv = EXT / 8u;
#else
  let gr = O0 + r;
  let gc = KN + c;
  let ok = gr < EXT && gc < KEND;
  let ldv = LDK / 8u;
#endif
  var v = vec4<u32>();
  if (ok) {
    v = SRC[BASE + gr * ldv + gc / 8u];
  }
  REG[i] = v;
#if NRM
  var nr = 0.0;
  var ng = vec4<u32>();
  if (ok) {
    nr = rs[np.rs_base + gr];
    ng = gm[np.g_base / 8u + gc / 8u];
  }
  NR[i] = nr;
  NG[i] = ng;
  NK[i] = norm_keep8(gr * (ldv * 8u) + gc);
#endif
}
