// The rstd of MT rows from their sums of squares, which the caller left in red as the GEMV
// reductions lay rows out: row j in component j % 4 of the WG vectors of round j / 4, one
// partial an invocation. Returns rsqrt(Σ/k + eps) (rms_norm_vec.wgsl's formula) to invocation
// lid < MT for row lid, 0 to the others. Call in uniform control flow; red's rounds are
// reused, so the caller re-fills them before its next reduction.
fn gemv_row_rstd(lid: u32, k: u32, eps: f32) -> f32 {
  workgroupBarrier();
  // Invocation t < 16·ROUNDS: round t / 16, group t % 16 (WG/16 partials g, g + 16, …).
  if (lid < 16u * ROUNDS) {
    let j = lid / 16u;
    let g = lid % 16u;
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < WG / 16u; i = i + 1u) {
      s = s + red[j * WG + g + 16u * i];
    }
    red[j * WG + g] = s;
  }
  workgroupBarrier();
  var r = 0.0;
  if (lid < MT) {
    var t = 0.0;
    for (var g = 0u; g < 16u; g = g + 1u) {
      t = t + red[(lid / 4u) * WG + g][lid % 4u];
    }
    r = inverseSqrt(t / f32(k) + eps);
  }
  return r;
}
