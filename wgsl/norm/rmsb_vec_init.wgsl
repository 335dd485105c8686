// Register slot I of rms_norm_backward_vec.wgsl: word k_I of every row is this invocation's;
// al_I/ah_I accumulate the dw partial of its columns (elements 0–3 / 4–7 of the word)
// across the block's rows; nd_I/nx_I hold the raw words of dy and x for the next row
// (fetched one row ahead, so their latency overlaps this row's reductions). Named
// variables, not an indexed array: drivers move dynamically indexed arrays to local memory.
let k_##I = lid + I##u * WG;
var al_##I = vec4<f32>(0.0);
var ah_##I = vec4<f32>(0.0);
var nd_##I = vec4<u32>(0u);
var nx_##I = vec4<u32>(0u);
if (k_##I < p.nv) {
  nd_##I = dy[p.x_base + r0 * p.nv + k_##I];
  nx_##I = x[p.x_base + r0 * p.nv + k_##I];
}
