// Register slot I (row I of the block's MT) of gemm_gemv_split.wgsl, in step STEP:
// 0 declares acc_I (the row's NB column sums), 1 folds this invocation's word kv of the
// row against the NB column words, 2 stores acc_I for the tree when row I is in the
// current half (rows 0–3 in half 0, 4–7 in half 1).
#if STEP == 0
var acc_##I = vec4<f32>(0.0);
#elif STEP == 1
if (I##u < rows) {
  acc_##I = acc_##I + fold(a[av0 + I##u * nv + kv], b0l, b0h, b1l, b1h, b2l, b2h, b3l, b3h);
}
#else
if (I##u / (MT / 2u) == half) {
  red[(I##u % (MT / 2u)) * WG + lid] = acc_##I;
}
#endif
