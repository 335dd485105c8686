// Register slot I of rms_norm_backward_vec.wgsl: word k_I's terms of Σ dy·w·x and Σ x².
// Only the raw words stay in registers (decoding again at the store is cheaper than
// holding 8 floats per word: fewer registers, more workgroups resident).
if (k_##I < p.nv) {
  let wv = w[k_##I];
  let xl = dec_lo(xv_##I);
  // Terms (dy·w)·x, as the streaming kernel forms them.
  sdot = sdot + dot(dec_lo(dv_##I) * dec_lo(wv), xl);
  ss = ss + dot(xl, xl);
#if X_DT
  let xh = dec_hi(xv_##I);
  sdot = sdot + dot(dec_hi(dv_##I) * dec_hi(wv), xh);
  ss = ss + dot(xh, xh);
#endif
}
