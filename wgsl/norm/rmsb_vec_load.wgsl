// Register slot I of rms_norm_backward_vec.wgsl: word k_I of dy and x for this row, kept
// for the dx/dw step after the reductions; w is re-read there (a cache hit) rather than
// held, to spare registers.
var dl_##I = vec4<f32>(0.0);
var dh_##I = vec4<f32>(0.0);
var xl_##I = vec4<f32>(0.0);
var xh_##I = vec4<f32>(0.0);
if (k_##I < p.nv) {
  let dv_##I = dy[base + k_##I];
  let xv_##I = x[base + k_##I];
  let wv_##I = w[k_##I];
  dl_##I = dec_lo(dv_##I);
  xl_##I = dec_lo(xv_##I);
  // Terms (dy·w)·x, as the streaming kernel forms them.
  sdot = sdot + dot(dl_##I * dec_lo(wv_##I), xl_##I);
  ss = ss + dot(xl_##I, xl_##I);
#if X_DT
  dh_##I = dec_hi(dv_##I);
  xh_##I = dec_hi(xv_##I);
  sdot = sdot + dot(dh_##I * dec_hi(wv_##I), xh_##I);
  ss = ss + dot(xh_##I, xh_##I);
#endif
}
