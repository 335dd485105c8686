// Register slot I of rms_norm_backward_vec.wgsl: word k_I of every row is this invocation's;
// al_I/ah_I accumulate the dw partial of its columns (elements 0–3 / 4–7 of the word)
// across the block's rows. Named variables, not an indexed array: drivers move dynamically
// indexed arrays to local memory.
let k_##I = lid + I##u * WG;
var al_##I = vec4<f32>(0.0);
var ah_##I = vec4<f32>(0.0);
