// Exact conversions between f32 and the 16-bit formats. WGSL allows f32→f16 conversions to
// round to either neighbour, so rounding is done here in integer ops: round-to-nearest-even,
// gradual underflow, overflow to infinity — the same results as the host's encoder.

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

fn f32_to_f16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let ex = (x >> 23u) & 0xffu;
  var man = x & 0x7fffffu;
  if (ex == 0xffu) {
    return sign | select(0x7c00u, 0x7e00u, man != 0u);
  }
  let e = i32(ex) - 112;
  if (e >= 31) {
    return sign | 0x7c00u;
  }
  if (e <= 0) {
    if (e < -10) {
      return sign;
    }
    man = man | 0x800000u;
    let shift = u32(14 - e);
    let half = 1u << (shift - 1u);
    let rem = man & ((1u << shift) - 1u);
    var m = man >> shift;
    if (rem > half || (rem == half && (m & 1u) == 1u)) {
      m = m + 1u;
    }
    return sign | m;
  }
  let m = man >> 13u;
  let rem = man & 0x1fffu;
  var r = (u32(e) << 10u) | m;
  if (rem > 0x1000u || (rem == 0x1000u && (m & 1u) == 1u)) {
    r = r + 1u;
  }
  return sign | r;
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
