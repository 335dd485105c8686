// Exact conversions between f32 and the 16-bit formats. WGSL allows f32→f16 conversions to
// round to either neighbour, so rounding is done here in integer ops: round-to-nearest-even,
// gradual underflow, overflow to infinity — the same results as the host's encoder.

// f16 → f32 is exact for every f16 (unpack2x16float is the fast path for packed words);
// this scalar form is for a lone half.
fn f16_to_f32(h: u32) -> f32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    // Subnormal: m · 2^-24 is exact in f32.
    return bitcast<f32>(s | bitcast<u32>(f32(m) * 5.9604644775390625e-8));
  }
  if (e == 31u) {
    return bitcast<f32>(s | 0x7f800000u | (m << 13u));
  }
  return bitcast<f32>(s | ((e + 112u) << 23u) | (m << 13u));
}

// The common case (a normal f16 result) in four integer ops: rebias the exponent and add
// 0xfff plus the mantissa's lowest kept bit, so the carry out of the dropped 13 bits is
// round-to-nearest-even (a carry into the exponent, up to infinity, is right too).
fn f32_to_f16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let a = x & 0x7fffffffu;
  if (a >= 0x38800000u && a < 0x47800000u) {
    return sign | ((a + 0xc8000fffu + ((a >> 13u) & 1u)) >> 13u);
  }
  return sign | f32_to_f16_rare(a);
}

// Subnormal, overflow, infinity and NaN results (|v| < 2^-14 or ≥ 2^16), rounding in
// integers too.
fn f32_to_f16_rare(a: u32) -> u32 {
  let ex = a >> 23u;
  var man = a & 0x7fffffu;
  if (ex == 0xffu) {
    return select(0x7c00u, 0x7e00u, man != 0u);
  }
  let e = i32(ex) - 112;
  if (e >= 31) {
    return 0x7c00u;
  }
  if (e < -10) {
    return 0u;
  }
  man = man | 0x800000u;
  let shift = u32(14 - e);
  let half = 1u << (shift - 1u);
  let rem = man & ((1u << shift) - 1u);
  var m = man >> shift;
  if (rem > half || (rem == half && (m & 1u) == 1u)) {
    m = m + 1u;
  }
  return m;
}

fn bf16_to_f32(h: u32) -> f32 {
  return bitcast<f32>(h << 16u);
}

fn f32_to_bf16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x7fffffu) != 0u) {
    return ((x >> 16u) | 0x40u) & 0xffffu;
  }
  // Carries propagate into the exponent (and to infinity): that is round-to-nearest-even.
  let lsb = (x >> 16u) & 1u;
  return ((x + 0x7fffu + lsb) >> 16u) & 0xffffu;
}
