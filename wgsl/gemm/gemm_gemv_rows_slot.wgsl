// Row I of a in gemm_gemv_rows.wgsl, in step STEP: 0 declares acc_I (its 4 column sums);
// 1 folds word kw of the row against the decoded words w of b; 2 stores acc_I for the
// reduction when row I is in round q.
#if STEP == 0
var acc_##I = vec4<f32>(0.0);
#elif STEP == 1
acc_##I = acc_##I + fold(a[av0 + I##u * nv + kw], w);
#else
if (I##u / 4u == q) {
  red[(I##u % 4u) * WG + lid] = acc_##I;
}
#endif
