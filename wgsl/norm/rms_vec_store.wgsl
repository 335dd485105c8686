// Register slot I of rms_norm_vec.wgsl: y = h · r · w for word k_I.
if (k_##I < p.nv) {
  let wv_##I = w[k_##I];
  y[p.y_base + row * p.nv + k_##I] = enc(lo_##I * r * dec_lo(wv_##I), hi_##I * r * dec_hi(wv_##I));
}
