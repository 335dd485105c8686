// Register slot I of softmax_vec.wgsl: y = e / Σe on live lanes (NaN there when Σe = 0: the
// visible entries are all −Inf), 0 on masked lanes.
if (k_##I < p.nv) {
  let lo_y_##I = select(vec4<f32>(0.0), select(nan, lo_##I / total, some), live(k_##I, 0u, limit));
  let hi_y_##I = select(vec4<f32>(0.0), select(nan, hi_##I / total, some), live(k_##I, 1u, limit));
  y[p.y_base + row * p.nv + k_##I] = enc(lo_y_##I, hi_y_##I);
}
