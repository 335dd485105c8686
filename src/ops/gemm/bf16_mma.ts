/**
 * bf16 gemm on f16 matrix units (webgpu 'subgroup-matrix' tier): the numerics, in one place.
 * The kernel (wgsl/gemm/gemm_sgmat_bf16.wgsl + gemm_bf16_exps.wgsl) implements exactly these
 * rules; test/ops/gemm_bf16_mma.test.ts emulates them on adversarial inputs.
 *
 * Method. K is cut into windows of KF elements. For every row of op(A) and every column of
 * op(B) and every window, a prepass records E = the largest biased exponent field of the
 * window's nonzero values and whether the window is "exact":
 *   - no NaN/±inf (E < 255), no bf16 subnormal, and
 *   - every nonzero value's exponent field is within E−29…E, and E ≥ 16 (or all are zero).
 * An exact window's values are scaled by 2^(142−E) and then lie in [2^-14, 65280]: f16 normals
 * with bf16's 8 significant bits inside f16's 11, so bf16 → f16 is exact, and so are the
 * products (16 bits) the matrix units form. The window's partial sums σ_t accumulate in
 * the matrix units from zero; at the end of the window each is scaled back by
 * 2^(E_A+E_B−284) (exact barring f32 under/overflow) and added, rounding to nearest, into an
 * f32 register sum. A workgroup whose tile holds any inexact window (any row or column of
 * it) computes that window with SIMT fma from the bf16 values instead (the f32 path's
 * arithmetic: NaN and ±inf propagate as it does).
 *
 * Bound. The f16 tier's model of a matrix-unit accumulation (truncating adds, unit 2u,
 * spec.ts) gives |σ̂_t − σ_t| ≤ γ_{2·KF}·S_t; a SIMT window's fma chain gives γ_KF·S_t. The
 * T = ⌈K/KF⌉ window sums are added in order (T − 1 rounded adds), so by
 * γ_a + γ_b + γ_a·γ_b ≤ γ_{a+b}:  |ŝ − s| ≤ γ_D·S with D = 2·KF + T − 1.
 * bf16's gemm bound counts γ_K·S; KF is chosen so D ≤ K (bf16WindowDepth), else the
 * portable kernel runs: the bound is kept, never widened.
 */

/** f32 unit roundoff. */
const U = 2 ** -24;

/** D = 2·KF + ⌈K/KF⌉ − 1: the γ index of the accumulation with windows of KF. */
export function bf16AccDepth(k: number, kf: number): number {
  return 2 * kf + Math.ceil(k / kf) - 1;
}

/** The slice depth of the kernel: windows are whole slices. */
export const BF16_SLICE = 32;

/**
 * The window depth for K: the largest power-of-two multiple of the slice, at most `max`,
 * whose accumulation depth D stays within K (the bf16 bound's γ_K); undefined when even
 * one slice per window exceeds it (K < 66): the portable kernel runs then.
 */
export function bf16WindowDepth(k: number, max: number): number | undefined {
  for (let kf = max; kf >= BF16_SLICE; kf /= 2) if (bf16AccDepth(k, kf) <= k) return kf;
  return undefined;
}

/** Field bits of a window entry: E in bits 0–7, bit 8 set when the window is not exact. */
export const INEXACT = 0x100;

/**
 * The prepass's entry for one window (bf16 bit patterns): E and the inexact flag, as
 * gemm_bf16_exps.wgsl computes it.
 */
export function windowEntry(bits: ArrayLike<number>): number {
  let emax = 0;
  let emin = 255;
  let any = false;
  for (let i = 0; i < bits.length; i++) {
    const mag = bits[i] & 0x7fff;
    if (mag === 0) continue;
    const e = mag >> 7;
    any = true;
    if (e > emax) emax = e;
    if (e < emin) emin = e;
  }
  if (!any) return 0;
  const exact = emax < 255 && emax >= 16 && emin >= 1 && emin >= emax - 29;
  return emax | (exact ? 0 : INEXACT);
}

/** 2^(142−E) as the kernel forms it (an f32 power of two; E = 0, an all-zero window: 2^127). */
export function windowMultiplier(entry: number): number {
  const e = entry & 0xff;
  return 2 ** (Math.min(254, Math.max(1, 269 - e)) - 127);
}

/** Exponent of the scale back for an output of an A window and a B window: E_A + E_B − 284. */
export function scaleBack(entryA: number, entryB: number): number {
  return (entryA & 0xff) + (entryB & 0xff) - 284;
}

/** bf16 bits → number. */
export function bf16Value(h: number): number {
  const f = new Float32Array(new Uint32Array([(h & 0xffff) << 16]).buffer);
  return f[0];
}

/**
 * f16 bits of the value x (a number): undefined when x is not exactly an f16 (the kernel's
 * f32 → f16 conversion may round either way then; an exact window never asks).
 */
export function exactF16(x: number): number | undefined {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  if (!Number.isFinite(x)) return undefined;
  const s = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const e = Math.floor(Math.log2(a));
  // log2 can be off by one near powers of two: fix it up exactly.
  const ex = a >= 2 ** (e + 1) ? e + 1 : a < 2 ** e ? e - 1 : e;
  if (ex > 15) return undefined;
  if (ex >= -14) {
    const m = a / 2 ** ex - 1;
    const mi = m * 1024;
    if (!Number.isInteger(mi)) return undefined;
    return s | ((ex + 15) << 10) | mi;
  }
  const mi = a / 2 ** -24;
  if (!Number.isInteger(mi) || mi >= 1024) return undefined;
  return s | mi;
}

/** The f32 rounding of x (round to nearest even). */
export const f32 = Math.fround;

/** γ_n = n·u/(1 − n·u) for f32. */
export function gamma32(n: number): number {
  return (n * U) / (1 - n * U);
}

/**
 * x·2^e as the kernel's pow2_scale does it: steps of 2^±100 towards the target (an
 * intermediate under- or overflows only when the result does), then one exact power.
 */
export function pow2Scale(x: number, e: number): number {
  let y = x;
  let r = e;
  for (let i = 0; i < 2; i++) {
    if (r < -100) {
      y = f32(y * 2 ** -100);
      r += 100;
    }
  }
  for (let i = 0; i < 2; i++) {
    if (r > 100) {
      y = f32(y * 2 ** 100);
      r -= 100;
    }
  }
  return f32(y * 2 ** r);
}
