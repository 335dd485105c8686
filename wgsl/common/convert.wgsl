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

// Branch-free (a per-element branch costs more than the arithmetic in memory-bound kernels:
// measured on an H100, f16 outputs ran up to 40% slower than bf16 with the branchy form):
// - normal results (2^-14 ≤ |v| < 2^16): rebias the exponent and add 0xfff plus the
//   mantissa's lowest kept bit, so the carry out of the dropped 13 bits is round-to-nearest-
//   even (a carry into the exponent, up to infinity, is right too);
// - subnormal results (|v| < 2^-14): |v|·2^24 is exact (a power-of-two scaling; an input
//   flushed to zero gives 0, which is its correct result too), round() is half-to-even by
//   definition, and adding 2^23 to an integer ≤ 1024 is exact, so its low bits are the
//   subnormal mantissa (1024 = the smallest normal, also right);
// - |v| ≥ 2^16 → infinity, NaN → quiet NaN.
// Checked against the host encoder for all 2^32 inputs (scripts/check-f16-encoder.c).
fn f32_to_f16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let a = x & 0x7fffffffu;
  let normal = (a + 0xc8000fffu + ((a >> 13u) & 1u)) >> 13u;
  let sub = bitcast<u32>(round(abs(v) * 16777216.0) + 8388608.0) - 0x4b000000u;
  let big = select(0x7c00u, 0x7e00u, a > 0x7f800000u);
  return sign | select(select(normal, big, a >= 0x47800000u), sub, a < 0x38800000u);
}

fn bf16_to_f32(h: u32) -> f32 {
  return bitcast<f32>(h << 16u);
}

// Branch-free as f32_to_f16. Carries propagate into the exponent (and to infinity): that is
// round-to-nearest-even; a NaN keeps its top bits and is made quiet.
fn f32_to_bf16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let nan = (x & 0x7fffffffu) > 0x7f800000u;
  let lsb = (x >> 16u) & 1u;
  return select(((x + 0x7fffu + lsb) >> 16u) & 0xffffu, ((x >> 16u) | 0x40u) & 0xffffu, nan);
}
