// Exhaustive check of the branch-free f32 → f16 encoder in wgsl/common/convert.wgsl, as
// transcribed below, against the branchy integer encoder it replaced (itself checked against
// the host encoder in test/dtype.test.ts), over all 2^32 f32 bit patterns. WGSL's round() is
// half-to-even, as nearbyintf in the default rounding mode. About 10 s:
//   clang -O2 -o /tmp/check scripts/check-f16-encoder.c -lm && /tmp/check
// (test/convert-gpu.test.ts runs the WGSL itself on the GPU over every rounding midpoint.)
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static uint32_t reference(float v) {
  uint32_t x = bits(v), sign = (x >> 16) & 0x8000, a = x & 0x7fffffff;
  if (a >= 0x38800000u && a < 0x47800000u) return sign | ((a + 0xc8000fffu + ((a >> 13) & 1)) >> 13);
  uint32_t ex = a >> 23, man = a & 0x7fffff;
  if (ex == 0xff) return sign | (man ? 0x7e00 : 0x7c00);
  int e = (int)ex - 112;
  if (e >= 31) return sign | 0x7c00;
  if (e < -10) return sign;
  man |= 0x800000;
  uint32_t shift = (uint32_t)(14 - e), half = 1u << (shift - 1), rem = man & ((1u << shift) - 1), m = man >> shift;
  if (rem > half || (rem == half && (m & 1))) m++;
  return sign | m;
}

static uint32_t branch_free(float v) {
  uint32_t x = bits(v), sign = (x >> 16) & 0x8000, a = x & 0x7fffffff;
  uint32_t normal = (a + 0xc8000fffu + ((a >> 13) & 1)) >> 13;
  uint32_t sub = bits(nearbyintf(fabsf(v) * 16777216.0f) + 8388608.0f) - 0x4b000000u;
  uint32_t big = a > 0x7f800000u ? 0x7e00u : 0x7c00u;
  return sign | (a < 0x38800000u ? sub : (a >= 0x47800000u ? big : normal));
}

int main(void) {
  uint64_t bad = 0;
  for (uint64_t i = 0; i <= 0xffffffffull; i++) {
    float v = from_bits((uint32_t)i);
    uint32_t r = reference(v), f = branch_free(v);
    if (r != f && bad++ < 5) printf("%08x: reference %04x, branch-free %04x\n", (uint32_t)i, r, f);
  }
  printf("%llu mismatches over 2^32 patterns\n", (unsigned long long)bad);
  return bad != 0;
}
