import { minNormal, minSubnormal, unitRoundoff, type DType, type FloatDType } from '../dtype.js';

/**
 * The arithmetic model that every error bound is derived from: f32 computation with the
 * accuracy WGSL guarantees (the looser of WGSL and MSL fast-math for each function), then
 * one rounding to the output dtype. Nothing here is tuned to make a test pass: each factor
 * is a count of roundings or a function's ulp budget, written next to the op that uses it.
 */
export const U32 = unitRoundoff('f32');

/** Relative error of one f32 function evaluation, in units of U32 (1 ulp ≤ 2·U32·|v|). */
export const ULP = {
  /** WGSL exp/exp2: 3 + 2·|x| ulp. */
  exp: (x: number) => 2 * (3 + 2 * Math.abs(x)),
  /** WGSL log/log2 outside [0.5, 2]: 3 ulp; inside the absolute error 2^-21 is handled by callers. */
  log: 6,
  /** WGSL inverseSqrt: 2 ulp. */
  rsqrt: 4,
  /** WGSL sqrt: inherited from inverseSqrt and a division: 2 + 2.5 ulp. */
  sqrt: 9,
  /** WGSL division: 2.5 ulp (for |y| in [2^-126, 2^126]). */
  div: 5,
} as const;

/** WGSL sin/cos on [-π, π]: absolute error 2^-11 (kernels reduce the argument into that range first). */
export const TRIG_ABS = 2 ** -11;

/** γ_n = n·u/(1-n·u): the classic bound on an n-term f32 sum in any order, relative to Σ|terms|. */
export function gamma(n: number): number {
  const nu = n * U32;
  return nu / (1 - nu);
}

/**
 * Final bound of one output element: `e` (the f32 computation's error bound) then the
 * rounding to `dtype` (u·|v| for a normal result, half a subnormal step near zero).
 *
 * Flushed subnormals: WGSL lets any f32 or f16 operation flush a subnormal result to zero
 * (and MSL under fast math does), so a result whose computed value may lie below the
 * dtype's smallest normal — |ref| < minNormal + b — may come back as 0, an error of |ref|.
 * The bound is then at least |ref| (bf16 shares f32's exponent range, so its flush limit is
 * f32's 2^-126; f16's is 2^-14).
 */
export function toDtype(dtype: DType, ref: number, e: number): number {
  if (dtype !== 'f32' && dtype !== 'f16' && dtype !== 'bf16') return e;
  const u = unitRoundoff(dtype as FloatDType);
  const b = e * (1 + u) + u * Math.abs(ref) + minSubnormal(dtype as FloatDType);
  const a = Math.abs(ref);
  return a < minNormal(dtype as FloatDType) + b ? Math.max(b, a) : b;
}

/** Bounds for every element of `ref` from a per-element f32 error `e(i)`. */
export function boundsOf(dtype: DType, ref: Float64Array, e: (i: number) => number): Float64Array {
  const out = new Float64Array(ref.length);
  for (let i = 0; i < ref.length; i++) out[i] = toDtype(dtype, ref[i], e(i));
  return out;
}
