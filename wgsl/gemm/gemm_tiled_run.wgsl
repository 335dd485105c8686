// gemm_tiled.wgsl's run reader for operand NAME: fn run_NAME(g, cnt), elements g … g + 3
// (element offsets; `cnt` of them in bounds, 0 when outside, zeros past them) as a vec4<f32>:
// one 4-element vector through vNAME where VECTOR (the launcher guarantees a run never
// straddles a row end), else element by element through load_NAME.
fn run_##NAME(g: u32, cnt: u32) -> vec4<f32> {
#if VECTOR
  if (cnt == 0u) {
    return vec4<f32>();
  }
  return v##NAME(g / 4u);
#else
  var v = vec4<f32>();
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (j < cnt) {
      v[j] = load_##NAME(g + j);
    }
  }
  return v;
#endif
}
