// pmetal MSL host runtime: bfloat16 conversions the kernels' code needs from the compiler
// runtime. Debian 12's libgcc 12 lacks them; weak, so a toolchain that has them wins.
// Round to nearest even, NaN stays NaN (quiet).
#include <cstdint>

extern "C" __attribute__((weak)) __bf16 __truncsfbf2(float f) {
  uint32_t u = __builtin_bit_cast(uint32_t, f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return __builtin_bit_cast(__bf16, (uint16_t)((u >> 16) | 0x40));
  u += 0x7fffu + ((u >> 16) & 1u);
  return __builtin_bit_cast(__bf16, (uint16_t)(u >> 16));
}
extern "C" __attribute__((weak)) __bf16 __truncdfbf2(double d) { return __truncsfbf2((float)d); }

