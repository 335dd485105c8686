// The rope op's cos/sin of an angle (msl/rope/rope.metal), shared with the fused kernels that
// rotate as it does (gemm/gemv_norm_qkv.metal): one definition, so their rotations are the
// same arithmetic bit for bit.
#pragma once
#include <metal_stdlib>
using namespace metal;

// cos/sin of θ after the Cody–Waite reduction: 2π = C1 + C2, C1 = 6.28125 (8 significant
// bits: k·C1 exact for |k| < 2^16, θ − k·C1 exact by Sterbenz), clamp to the largest f32
// below π absorbing k's rounding near ±π. Constants as bit patterns: exact f32 values.
inline float2 rope_cos_sin(float theta) {
  const float inv_2pi = as_type<float>(0x3e22f983u);
  const float c2 = as_type<float>(0x3afdaa22u);
  const float pi_in = as_type<float>(0x40490fdau);
  const float k = rint(theta * inv_2pi);
  const float r = clamp(fma(-k, c2, fma(-k, 6.28125f, theta)), -pi_in, pi_in);
  return float2(precise::cos(r), precise::sin(r));
}
