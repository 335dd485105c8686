// Row I of x in qgemv_rows.wgsl, in step STEP: 0 declares acc_I (its 4 column sums); 1 folds
// the row's 8 elements at column e − x_base against the part w of the 4 rows of W; 2 stores
// acc_I for the reduction when row I is in round q.
#if STEP == 0
var acc_##I = vec4<f32>(0.0);
#elif STEP == 1
acc_##I = acc_##I + fold(load_x8(e + I##u * p.k), w);
#else
if (I##u / 4u == q) {
  red[(I##u % 4u) * WG + lid] = acc_##I;
}
#endif
