// The online log-sum-exp of cross_entropy.wgsl, shared by the kernels that stream a row once
// for its lse (cross_entropy, fused_distill_loss). In the log2 domain: t = z·log2e, m = an
// integer running maximum (ceil of the largest t seen), s = Σ 2^(t − m). As m is an integer,
// rescaling s when m grows is an exact ldexp — every term sees exactly one exp2 and no rescale
// error accumulates (lseError() in src/ops/cross_entropy/reference.ts). A workgroup merges its
// (m, s) pairs by a max reduction, then a sum of the exactly rescaled s; lse = M·ln2 + log(S),
// S in (1/2, V].
const LOG2E: f32 = 1.4426950408889634;
const LN2: f32 = 0.6931471805599453;
// The running maximum before any term: below every t; a shift from it is clamped, and
// ldexp(0, ·) stays 0.
const NO_MAX: f32 = -3.0e38;

// ldexp by a non-positive integer-valued shift; clamped so the i32 conversion is defined.
fn scale_down(s: f32, shift: f32) -> f32 {
  return ldexp(s, i32(max(shift, -256.0)));
}

// One term into the running (m, s).
fn online(st: vec2<f32>, z: f32) -> vec2<f32> {
  let t = z * LOG2E;
  var m = st.x;
  var s = st.y;
  if (t > m) {
    let mn = ceil(t);
    s = scale_down(s, m - mn);
    m = mn;
  }
  return vec2<f32>(m, s + exp2(t - m));
}
