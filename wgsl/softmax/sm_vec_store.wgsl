// Register slot I of softmax_vec.wgsl: y = e / Σe (a fully masked row is all zeros).
if (k_##I < p.nv) {
  y[p.y_base + row * p.nv + k_##I] = enc(select(lo_##I / total, vec4<f32>(0.0), empty), select(hi_##I / total, vec4<f32>(0.0), empty));
}
