// Units of 32 weights of W for qgemv_rows.wgsl's byte-addressed path (GGUF formats, MLX off
// 16-byte boundaries): unit_load(row, u) reads what weights 32u … 32u+31 of a row need once,
// unit_part(w, j) decodes weights 8j … 8j+7 of it to the same f32 values as decode8 (the
// same operations on the same operands: Q4_0 (q − 8)·d, Q4_K (d·sc)·q − dmin·m). Q4_0 and
// Q4_K read a unit's bytes in 4-byte words (GALIGN: the launcher's check that the packed
// rows start on 4-byte boundaries, so Q4_K's words are aligned; otherwise qword's two-word
// reads at any alignment); the other formats go through decode8 part by part. Needs
// quant/decode.wgsl and magic4.
#if Q4_K
#if GALIGN
fn qword_al(b: u32) -> u32 {
  return qw(b >> 2u);
}
#else
fn qword_al(b: u32) -> u32 {
  return qword(b);
}
#endif
#endif

#if Q4_K
struct Unit {
  q0: vec4<u32>,
  q1: vec4<u32>,
  ds: f32,
  dm: f32,
  sh: u32,
}
fn unit_load(row: u32, u: u32) -> Unit {
  // Super-block u / 8, sub-block j = u % 8: scale/min pair j (get_scale_min_k4) and the 32
  // bytes whose low (even j) or high (odd j) nibbles are the unit.
  let base = p.w_base + row * p.row_units + (u / 8u) * 144u;
  let j = u % 8u;
  var sc: u32;
  var m: u32;
  if (j < 4u) {
    sc = qbyte(base + 4u + j) & 63u;
    m = qbyte(base + 8u + j) & 63u;
  } else {
    sc = (qbyte(base + 8u + j) & 15u) | ((qbyte(base + j) >> 6u) << 4u);
    m = (qbyte(base + 8u + j) >> 4u) | ((qbyte(base + 4u + j) >> 6u) << 4u);
  }
  let at = base + 16u + 32u * (j / 2u);
  let q0 = vec4<u32>(qword_al(at), qword_al(at + 4u), qword_al(at + 8u), qword_al(at + 12u));
  let q1 = vec4<u32>(qword_al(at + 16u), qword_al(at + 20u), qword_al(at + 24u), qword_al(at + 28u));
  return Unit(q0, q1, qhalf(base) * f32(sc), qhalf(base + 2u) * f32(m), select(0u, 4u, (j & 1u) == 1u));
}
fn nib4m(x: u32, shift: u32) -> vec4<f32> {
  return magic4(vec4<u32>(x >> shift, x >> (shift + 8u), x >> (shift + 16u), x >> (shift + 24u)) & vec4<u32>(15u));
}
fn unit_part(w: Unit, j: u32) -> W8 {
  let a = select(w.q1[(2u * j) & 3u], w.q0[(2u * j) & 3u], j < 2u);
  let b = select(w.q1[(2u * j + 1u) & 3u], w.q0[(2u * j + 1u) & 3u], j < 2u);
  return W8(nib4m(a, w.sh) * w.ds - w.dm, nib4m(b, w.sh) * w.ds - w.dm);
}
#elif MLX || Q8_0 || Q6_K
struct Unit {
  row: u32,
  k0: u32,
}
fn unit_load(row: u32, u: u32) -> Unit {
  return Unit(row, u * 32u);
}
fn unit_part(w: Unit, j: u32) -> W8 {
  return decode8(w.row, w.k0 + 8u * j);
}
#else
// Q4_0: a unit is one block (an f16 d, then 16 bytes: weights 0–15 in the low nibbles,
// 16–31 in the high ones).
struct Unit {
  q: vec4<u32>,
  d: f32,
}
fn unit_load(row: u32, u: u32) -> Unit {
  let base = p.w_base + row * p.row_units + u * 18u;
  return Unit(vec4<u32>(qword(base + 2u), qword(base + 6u), qword(base + 10u), qword(base + 14u)), qhalf(base));
}
fn unit_part(w: Unit, j: u32) -> W8 {
  let sh = select(0u, 4u, j >= 2u);
  let a = w.q[(2u * j) & 3u];
  let b = w.q[(2u * j + 1u) & 3u];
  let qa = magic4(vec4<u32>(a >> sh, a >> (sh + 8u), a >> (sh + 16u), a >> (sh + 24u)) & vec4<u32>(15u));
  let qb = magic4(vec4<u32>(b >> sh, b >> (sh + 8u), b >> (sh + 16u), b >> (sh + 24u)) & vec4<u32>(15u));
  return W8((qa - 8.0) * w.d, (qb - 8.0) * w.d);
}
#endif
