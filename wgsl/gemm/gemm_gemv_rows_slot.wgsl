// Row F of a in gemm_gemv_rows.wgsl, in step STEP: 0 declares acc_F (its 4 column sums);
// 1 folds word kw of the row (of n with NORM) against the decoded words w of b; 2 stores acc_F for the
// reduction when row F is in round q.
#if STEP == 0
var acc_##F = vec4<f32>(0.0);
#if SWIGLU_ROWS && NORM
let nr_##F = norm_r(F##u);
#endif
#elif STEP == 1
#if SWIGLU_ROWS && NORM
// Row F of n (gemm_gemv_norm.wgsl) in place of a's.
acc_##F = acc_##F + fold(n_word(F##u, kw, nv, gv, nr_##F), w);
#elif STAGE == 1
// Bench stage 1: a is not read.
acc_##F = acc_##F + w.l0;
#else
acc_##F = acc_##F + fold(a[av0 + F##u * nv + kw], w);
#endif
#else
if (F##u / 4u == q) {
  red[(F##u % 4u) * WG + lid] = acc_##F;
}
#endif
