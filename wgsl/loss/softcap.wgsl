// Logit softcap z = cap·tanh(x/cap) and its derivative sech²(x/cap) = 1 − tanh², both
// from one e = exp(−2|x|/cap):  tanh = (1−e)/(1+e),  sech² = 4e/(1+e)².
// Written from exp on purpose: WGSL's tanh accuracy is only "inherited from sinh/cosh"
// (no usable bound), exp's is 3 + 2|x| ulp. sech² from e avoids the cancellation of
// 1 − tanh² for large |x|. The error model is softcapError() in src/ops/cross_entropy/
// reference.ts. Returns (z, sech²); inv_cap = fl(1/cap) comes from the host.

fn softcap(x: f32, cap: f32, inv_cap: f32) -> vec2<f32> {
  let a = abs(x) * inv_cap;
  let e = exp(-2.0 * a);
  let r = 1.0 / (1.0 + e);
  let z = cap * ((1.0 - e) * r);
  return vec2<f32>(select(-z, z, x >= 0.0), 4.0 * e * r * r);
}

// A quiet NaN from a runtime value (a constant NaN is a shader-creation error in WGSL).
fn quiet_nan(any: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (any & 0u));
}
