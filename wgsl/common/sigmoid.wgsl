// σ(g) and 1 − σ(g) without cancellation or overflow: with e = exp(−|g|) ≤ 1,
// σ = 1/(1+e) and 1−σ = e/(1+e) for g ≥ 0, swapped for g < 0. Each carries one exp, one
// add and one division (the bound in src/ops/swiglu*/spec.ts counts exactly these).
fn sigmoid_pair(g: f32) -> vec2<f32> {
  let e = exp(-abs(g));
  let d = 1.0 + e;
  let hi = 1.0 / d;
  let lo = e / d;
  return select(vec2<f32>(lo, hi), vec2<f32>(hi, lo), g >= 0.0);
}
