// a and b bound as 4-element vectors (vec4<f32> for f32, vec2<u32> for 16-bit dtypes) and
// read as vec4<f32>: va(v)/vb(v) return elements 4v..4v+3. For kernels compiled with VEC=1,
// which the launcher picks only where each operand's base and contiguous dimension are
// multiples of 4 (so a vector never straddles a row end). f16 → f32 and bf16 → f32 are exact.

#if A_DT == 0
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
fn va(v: u32) -> vec4<f32> {
  return a[v];
}
fn vb(v: u32) -> vec4<f32> {
  return b[v];
}
#else
@group(0) @binding(0) var<storage, read> a: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read> b: array<vec2<u32>>;
fn unpack4(w: vec2<u32>) -> vec4<f32> {
#if A_DT == 1
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
#else
  return vec4<f32>(bitcast<f32>(w.x << 16u), bitcast<f32>(w.x & 0xffff0000u), bitcast<f32>(w.y << 16u), bitcast<f32>(w.y & 0xffff0000u));
#endif
}
fn va(v: u32) -> vec4<f32> {
  return unpack4(a[v]);
}
fn vb(v: u32) -> vec4<f32> {
  return unpack4(b[v]);
}
#endif
