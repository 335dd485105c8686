import { minNormal, unitRoundoff, type FloatDType } from '../../dtype.js';
import { rowsCols } from '../check.js';
import { loraForwardErrors, loraForwardRef, type LoraOpts, type OperandError } from '../fused_lora_forward/reference.js';
import { rstdOf } from '../rms_norm_backward/reference.js';
import { U32 } from '../tolerance.js';
import type { RefTensor } from '../types.js';

/** The parsed options of fused_norm_lora (spec.ts): RMSNorm's eps and the LoRA options. */
export interface NormLoraOpts extends LoraOpts {
  eps: number;
}

export interface NormLoraInputs {
  x: RefTensor;
  gamma: RefTensor;
  weight: RefTensor;
  loraA: RefTensor;
  loraB: RefTensor;
  bias?: RefTensor;
}

/** n = x·rstd·γ per row (the normalised activations the kernels never store), as a tensor of x's dtype and shape. */
export function normalised(x: RefTensor, gamma: RefTensor, rstd: Float64Array): RefTensor {
  const [rows, k] = rowsCols(x.shape);
  const n = new Float64Array(x.data.length);
  for (let t = 0; t < rows; t++) for (let j = 0; j < k; j++) n[t * k + j] = x.data[t * k + j] * rstd[t] * gamma.data[j];
  return { dtype: x.dtype, shape: x.shape, data: n };
}

/** Float64: rstd = (mean(x²) + eps)^-½ per row, n = x·rstd·γ, then fused_lora_forward's y and xa on n. */
export function normLoraForwardRef(i: NormLoraInputs, o: NormLoraOpts) {
  const rstd = rstdOf(i.x, o.eps);
  const n = normalised(i.x, i.gamma, rstd);
  const f = loraForwardRef({ x: n, weight: i.weight, loraA: i.loraA, loraB: i.loraB, bias: i.bias }, o);
  return { ...f, rstd, n };
}

/**
 * The error of the normalised operand as the gemm kernels see it: n' = ((x·r')·γ) in f32
 * (two roundings), then staged in the dtype for 16-bit x (one more rounding, u_n), r' =
 * rstd with relative error ρ:
 *   |n' − n| ≤ ((1 + ρ)(1 + u)²(1 + u_n) − 1)·|n| + minNormal(dtype)
 * (a flushed or subnormal result is off by at most the dtype's smallest normal). Every
 * term of every product that reads n' then carries it: Σ_k |n_k|·|W_jk|·(rel) + abs·Σ|W_jk|
 * (loraForwardErrors' xErr), as flash attention's bound counts P's f16 rounding.
 * The rounding to the dtype: metal stages n as the dtype (round to nearest, u_d); webgpu's
 * subgroup-matrix tier rounds n to f16 for the matrix units with WGSL's f32 → f16
 * conversion, which may give either neighbour (faithful: under one ulp, 2·u_d relative), so
 * u_n = 2·u_d for f16. The harness holds one bound per op and dtype (no per-tier bounds),
 * so the f16 bound covers that tier on every tier; the SIMT tiers keep n in f32 and stay
 * well inside it. bf16 has no matrix-unit tier: u_n = u_d (metal's staging).
 * ρ = (K/2 + 10)·u when r' is computed (rms_norm's bound for rstd: Σx² is γ_K, halved by
 * the square root, then the mean, +eps and inverseSqrt), 0 when it is the saved input.
 */
export function normOperandError(dtype: FloatDType, k: number, rstdComputed: boolean): OperandError {
  const rho = rstdComputed ? (k / 2 + 10) * U32 : 0;
  const un = dtype === 'f32' ? 0 : dtype === 'f16' ? 2 * unitRoundoff(dtype) : unitRoundoff(dtype);
  return { rel: (1 + rho) * (1 + U32) ** 2 * (1 + un) - 1, abs: minNormal(dtype) };
}

/** Bounds before the rounding to each output's dtype: fused_lora_forward's, with n's error carried through; rstd's as rms_norm's. */
export function normLoraForwardErrors(i: NormLoraInputs, o: NormLoraOpts) {
  const f = normLoraForwardRef(i, o);
  const k = i.x.shape[i.x.shape.length - 1];
  const e = loraForwardErrors({ x: f.n, weight: i.weight, loraA: i.loraA, loraB: i.loraB, bias: i.bias }, o, undefined, normOperandError(i.x.dtype as FloatDType, k, true));
  const rho = (k / 2 + 10) * U32;
  return { f, eY: e.eY, eXa: e.eXa, eRstd: f.rstd.map((v) => rho * v) };
}
