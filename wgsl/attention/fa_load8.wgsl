// 8 consecutive elements (16 or 32 bytes) of a tensor bound as array<vec4<u32>>, decoded to
// f32 (exact for every dtype). Include with (NAME=x, DT=…); needs common/vec.wgsl and
// struct V8. `e` is an element offset, a multiple of 8 (the launcher guarantees it).
fn ld8_##NAME(e: u32) -> V8 {
#if DT == 0
  let w = e / 4u;
  return V8(bitcast<vec4<f32>>(NAME[w]), bitcast<vec4<f32>>(NAME[w + 1u]));
#else
  let w = NAME[e / 8u];
  return V8(dec_lo(w), dec_hi(w));
#endif
}
