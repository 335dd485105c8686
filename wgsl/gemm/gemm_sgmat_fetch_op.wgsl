// gemm_sgmat_fetch.wgsl for one operand: SRC (a or b) → registers REG (ra or rb), PER words
// per invocation, V words per staged row. ROWS_K: the staged rows run along K (a with
// TRANS_A, b without TRANS_B), else along the operand's outer dimension, whose tile origin
// is O0 (m0 or n0) and extent EXT (p.m or p.n). BASE: the batch's first word. K runs to
// k_end (gemm_common.wgsl's K_RANGE); p.k stays the leading dimension.
for (var i = 0u; i < PER; i = i + 1u) {
  let t = lid + i * WGT;
  let r = t / V;
  let c = (t % V) * 8u;
#if ROWS_K
  let gr = KN + r;
  let gc = O0 + c;
  let ok = gr < k_end && gc < EXT;
  let ldv = EXT / 8u;
#else
  let gr = O0 + r;
  let gc = KN + c;
  let ok = gr < EXT && gc < k_end;
  let ldv = p.k / 8u;
#endif
  var v = vec4<u32>();
  if (ok) {
    v = SRC[BASE + gr * ldv + gc / 8u];
  }
  REG[i] = v;
}
