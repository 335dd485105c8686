// Row kernels that keep a whole row in registers bind tensors as array<vec4<u32>>: one
// 16-byte load moves 4 f32 or 8 f16/bf16 elements. Include with (DT=X_DT); dec_lo/dec_hi
// give elements 0–3 and 4–7 of a word (hi is unused for f32), enc packs them back with
// exact round-to-nearest-even. Needs common/convert.wgsl.

#if DT == 0
const EPV: u32 = 4u;
fn dec_lo(v: vec4<u32>) -> vec4<f32> {
  return bitcast<vec4<f32>>(v);
}
fn dec_hi(v: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(0.0);
}
fn enc(lo: vec4<f32>, hi: vec4<f32>) -> vec4<u32> {
  return bitcast<vec4<u32>>(lo);
}
#elif DT == 1
const EPV: u32 = 8u;
fn dec_lo(v: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y));
}
fn dec_hi(v: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(v.z), unpack2x16float(v.w));
}
fn enc2(a: f32, b: f32) -> u32 {
  return f32_to_f16(a) | (f32_to_f16(b) << 16u);
}
fn enc(lo: vec4<f32>, hi: vec4<f32>) -> vec4<u32> {
  return vec4<u32>(enc2(lo.x, lo.y), enc2(lo.z, lo.w), enc2(hi.x, hi.y), enc2(hi.z, hi.w));
}
#else
const EPV: u32 = 8u;
fn bf2(w: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u));
}
fn dec_lo(v: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(bf2(v.x), bf2(v.y));
}
fn dec_hi(v: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(bf2(v.z), bf2(v.w));
}
fn enc2(a: f32, b: f32) -> u32 {
  return f32_to_bf16(a) | (f32_to_bf16(b) << 16u);
}
fn enc(lo: vec4<f32>, hi: vec4<f32>) -> vec4<u32> {
  return vec4<u32>(enc2(lo.x, lo.y), enc2(lo.z, lo.w), enc2(hi.x, hi.y), enc2(hi.z, hi.w));
}
#endif
