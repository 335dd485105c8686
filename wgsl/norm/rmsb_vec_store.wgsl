// Register slot I of rms_norm_backward_vec.wgsl: dx = (r·w)·dy − x·c for word k_I, and the
// row's dw term (dy·x)·r added to the slot's partial. f32 words have no hi half.
if (k_##I < p.nv) {
  let wv_##I = w[k_##I];
  dx[base + k_##I] = enc(r * dec_lo(wv_##I) * dl_##I - xl_##I * c, r * dec_hi(wv_##I) * dh_##I - xh_##I * c);
  al_##I = al_##I + dl_##I * xl_##I * r;
#if X_DT
  ah_##I = ah_##I + dh_##I * xh_##I * r;
#endif
}
