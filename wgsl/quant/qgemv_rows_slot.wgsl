// Row F of x in qgemv_rows.wgsl, in step STEP: 0 declares acc_F (its 4 column sums); 1 folds
// the row's 8 elements at column e − x_base against the part w of the 4 rows of W; 2 stores
// acc_F for the reduction when row F is in round q.
#if STEP == 0
var acc_##F = vec4<f32>(0.0);
#elif STEP == 1
acc_##F = acc_##F + fold(load_x8(e + F##u * p.k), w);
#else
if (F##u / 4u == q) {
  red[(F##u % 4u) * WG + lid] = acc_##F;
}
#endif
