/**
 * The f32 arithmetic of the C reference quantizers (MLX's mlx/backend/cpu/quantized.cpp,
 * llama.cpp's ggml-quants.c), replayed in TypeScript. Every C float operation is one
 * `f(…)`: a float64 result rounded to f32 — for + − × ÷ and sqrt of f32 operands that is the
 * correctly rounded f32 result (53 ≥ 2·24 + 2, so the double rounding is innocuous). The C
 * code is read without floating-point contraction (each `a*b + c` rounds twice), as written.
 */
export const f = Math.fround;

/** C's rint / std::rint under the default rounding mode: round half to even. */
export function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/** C's roundf: round half away from zero. */
export function roundf(x: number): number {
  return Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
}

/**
 * ggml's nearest_int: fval + 12582912.f (1.5·2^23) in f32 puts the rounded integer in the low
 * mantissa bits — round half to even, for |fval| ≤ 4194303.
 */
export function nearestInt(fval: number): number {
  return f(fval + 12582912) - 12582912;
}

/** C's (int8_t)(float) for values in range: truncation toward zero. */
export const truncInt = (x: number): number => Math.trunc(x);
