// dx for one logit of cross_entropy_backward (cross_entropy_backward.wgsl and its _vec
// twin): g·(exp(z − lse) − c2 − c1·[j = tgt]), times ∂z/∂x under SOFTCAP. Needs the
// kernel's Params `p` (c1, c2, cap, inv_cap) and loss/softcap.wgsl.
fn grad(x: f32, j: i32, tgt: i32, l: f32, g: f32) -> f32 {
#if SOFTCAP
  let c = softcap(x, p.cap, p.inv_cap);
  let z = c.x;
#else
  let z = x;
#endif
  var q = exp(z - l) - p.c2;
  if (j == tgt) {
    q = q - p.c1;
  }
  let d = g * q;
#if SOFTCAP
  return d * c.y;
#else
  return d;
#endif
}
