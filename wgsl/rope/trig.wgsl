// cos/sin of θ after a Cody–Waite reduction into [-π, π] (where WGSL bounds their error):
// 2π = C1 + C2, C1 = 6.28125 with 8 significant bits so k·C1 is exact for |k| < 2^16 and
// θ − k·C1 is exact (Sterbenz); the clamp absorbs k's rounding near ±π. The error budget is
// derived in src/ops/rope/apply.ts (trigError). Constants as bit patterns: exact f32 values.
fn cos_sin(theta: f32) -> vec2<f32> {
  let inv_2pi = bitcast<f32>(0x3e22f983u);
  let c2 = bitcast<f32>(0x3afdaa22u);
  let pi_in = bitcast<f32>(0x40490fdau);
  let k = round(theta * inv_2pi);
  let r = clamp((theta - k * 6.28125) - k * c2, -pi_in, pi_in);
  return vec2<f32>(cos(r), sin(r));
}
