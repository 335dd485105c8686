// Register slot I of softmax_vec.wgsl: exp(z − max) in place (masked lanes 0), running sum.
if (k_##I < p.nv) {
  lo_##I = select(vec4<f32>(0.0), exp(lo_##I - mx), live(k_##I, 0u, limit));
  hi_##I = select(vec4<f32>(0.0), exp(hi_##I - mx), live(k_##I, 1u, limit) & vec4<bool>(EPV == 8u));
  s = s + (lo_##I.x + lo_##I.y) + (lo_##I.z + lo_##I.w) + (hi_##I.x + hi_##I.y) + (hi_##I.z + hi_##I.w);
}
