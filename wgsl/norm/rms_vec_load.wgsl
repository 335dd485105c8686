// Register slot I of rms_norm_vec.wgsl: word k_I of the row into lo_I/hi_I (named
// variables, not an indexed array: drivers move dynamically indexed arrays to local memory).
let k_##I = lid + I##u * WG;
var lo_##I = vec4<f32>(0.0);
var hi_##I = vec4<f32>(0.0);
if (k_##I < p.nv) {
  let xv_##I = x[p.x_base + row * p.nv + k_##I];
  lo_##I = dec_lo(xv_##I);
  hi_##I = dec_hi(xv_##I);
#if RESIDUAL
  let rv_##I = res[p.res_base + row * p.nv + k_##I];
  lo_##I = lo_##I + dec_lo(rv_##I);
  hi_##I = hi_##I + dec_hi(rv_##I);
  h[p.h_base + row * p.nv + k_##I] = enc(lo_##I, hi_##I);
#endif
  ss = ss + dot(lo_##I, lo_##I) + dot(hi_##I, hi_##I);
}
