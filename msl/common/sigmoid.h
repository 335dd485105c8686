// σ(g) and 1 − σ(g) without cancellation or overflow: with e = exp(−|g|) ≤ 1,
// σ = 1/(1+e) and 1−σ = e/(1+e) for g ≥ 0, swapped for g < 0. Each carries one exp, one
// add and one division (the bounds in src/ops/swiglu*/spec.ts count exactly these).
// Returns (σ, 1−σ).
#pragma once
#include <metal_stdlib>
using namespace metal;

inline float2 sigmoid_pair(float g) {
  const float e = precise::exp(-fabs(g));
  const float d = 1.0f + e;
  const float hi = 1.0f / d;
  const float lo = e / d;
  return g >= 0.0f ? float2(hi, lo) : float2(lo, hi);
}
