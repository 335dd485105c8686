// The first fold of the row-streaming GEMVs' reductions (gemm_gemv_rows, gemv_norm_qkv,
// qgemv_rows, gemv_row_rstd): red holds `blocks` runs of WG vec4 partials (one an
// invocation); invocation t < 16·blocks sums partials g, g + 16, … of run j = t / 16 (g = t % 16:
// consecutive lanes read consecutive vectors) into red[j·WG + g], in place — that element is
// read by this invocation only (its first term). Needs red and WG (a multiple of 16); the caller
// puts barriers around it.
fn red_groups16(lid: u32, blocks: u32) {
  if (lid < 16u * blocks) {
    let j = lid / 16u;
    let g = lid % 16u;
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < WG / 16u; i = i + 1u) {
      s = s + red[j * WG + g + 16u * i];
    }
    red[j * WG + g] = s;
  }
}
