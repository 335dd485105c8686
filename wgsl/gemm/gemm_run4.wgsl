// The row-run store of a gemm output binding NAME (common/tensor.wgsl's accessors): the first
// `cnt` (≤ 4) of four consecutive elements of a row starting at element e. 16-bit outputs go
// out as whole words where the run covers them; a word shared with a neighbouring run (odd e
// or cnt) is written half by half by store2's masks. (NAME: y, and gemm_sgmat_vec's QKV y2, y3)
fn store_run4_##NAME(e: u32, v: vec4<f32>, cnt: u32) {
#if Y_DT == 0
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (j < cnt) {
      store_##NAME(e + j, v[j]);
    }
  }
#else
  let w = e >> 1u;
  if ((e & 1u) == 0u) {
    store2_##NAME(w, v.xy, cnt > 0u, cnt > 1u);
    store2_##NAME(w + 1u, v.zw, cnt > 2u, cnt > 3u);
  } else {
    store2_##NAME(w, vec2<f32>(0.0, v.x), false, cnt > 0u);
    store2_##NAME(w + 1u, v.yz, cnt > 1u, cnt > 2u);
    store2_##NAME(w + 2u, vec2<f32>(v.w, 0.0), cnt > 3u, false);
  }
#endif
}
