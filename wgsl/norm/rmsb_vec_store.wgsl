// Register slot I of rms_norm_backward_vec.wgsl: dx = (r·w)·dy − x·c for word k_I, and the
// row's dw term (dy·x)·r added to the slot's partial. f32 words have no hi half.
if (k_##I < p.nv) {
  let wv = w[k_##I];
  let dl = dec_lo(dv_##I);
  let xl = dec_lo(xv_##I);
  let dh = dec_hi(dv_##I);
  let xh = dec_hi(xv_##I);
  dx[base + k_##I] = enc(r * dec_lo(wv) * dl - xl * c, r * dec_hi(wv) * dh - xh * c);
  al_##I = al_##I + dl * xl * r;
#if X_DT
  ah_##I = ah_##I + dh * xh * r;
#endif
}
