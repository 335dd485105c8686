// Register slot I of softmax_vec.wgsl: scaled word k_I (masked lanes at LOWEST), running max.
let k_##I = lid + I##u * WG;
var lo_##I = vec4<f32>(LOWEST);
var hi_##I = vec4<f32>(LOWEST);
// Words wholly past the causal limit are never read (they stay at LOWEST, so exp gives 0).
if (k_##I < p.nv && k_##I * EPV < limit) {
  let xv_##I = x[p.x_base + row * p.nv + k_##I];
  lo_##I = select(vec4<f32>(LOWEST), p.scale * dec_lo(xv_##I), live(k_##I, 0u, limit));
  hi_##I = select(vec4<f32>(LOWEST), p.scale * dec_hi(xv_##I), live(k_##I, 1u, limit) & vec4<bool>(EPV == 8u));
  m = max(m, max(hmax(lo_##I), hmax(hi_##I)));
}
