// The rstd of MT rows from their sums of squares, which the caller left in red as the GEMV
// reductions lay rows out: row j in component j % 4 of the WG vectors of round j / 4, one
// partial an invocation. Returns rsqrt(Σ/k + eps) (rms_norm_vec.wgsl's formula) to invocation
// lid < MT for row lid, 0 to the others. Call in uniform control flow; red's rounds are
// reused, so the caller re-fills them before its next reduction.
#include "common/red_groups16.wgsl"
fn gemv_row_rstd(lid: u32, k: u32, eps: f32) -> f32 {
  workgroupBarrier();
  red_groups16(lid, ROUNDS);
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
