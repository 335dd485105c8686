// A value rounded to dtype DT (0 f32, 1 f16, 2 bf16) and back to f32: exact round-to-nearest-
// even through common/convert.wgsl, as the 16-bit stores round — for a kernel that uses a
// stored value's rounding without storing it first. Include with (DT=…) after convert.wgsl.
fn round_dt(v: f32) -> f32 {
#if DT == 0
  return v;
#elif DT == 1
  return unpack2x16float(f32_to_f16(v)).x;
#else
  return bf16_to_f32(f32_to_bf16(v));
#endif
}
