// The 4-row unit the row-streaming quantized GEMVs (qgemv_rows.wgsl, qgemv_sg.wgsl) fold:
// weights 8j … 8j+7 of 4 rows (rows 0–3: w0–w3), decoded to f32.
struct Part {
  w0: W8,
  w1: W8,
  w2: W8,
  w3: W8,
}

// x's 8 elements against the part's 4 rows: the 4 partial dot products.
fn fold(x: W8, w: Part) -> vec4<f32> {
  return vec4<f32>(dot(x.lo, w.w0.lo) + dot(x.hi, w.w0.hi), dot(x.lo, w.w1.lo) + dot(x.hi, w.w1.hi), dot(x.lo, w.w2.lo) + dot(x.hi, w.w2.hi), dot(x.lo, w.w3.lo) + dot(x.hi, w.w3.hi));
}

// 2²³ + v for v < 2²³ as an f32: v as a float with integer operations and one exact subtraction.
const MAGIC: u32 = 0x4b000000u;
fn magic4(v: vec4<u32>) -> vec4<f32> {
  return bitcast<vec4<f32>>(v | vec4<u32>(MAGIC)) - vec4<f32>(8388608.0);
}
