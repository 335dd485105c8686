import { minSubnormal, unitRoundoff, type FloatDType } from '../../dtype.js';
import { U32, gamma } from '../tolerance.js';
import type { RefTensor } from '../types.js';
import { dropoutMask } from './dropout.js';

/** The parsed options both LoRA ops share (see spec.ts). */
export interface LoraOpts {
  alpha?: number;
  dropout: number;
  seed: number;
  accumulate?: boolean;
}

/** s = alpha / r (alpha defaults to r: s = 1). */
export const loraScale = (o: LoraOpts, r: number): number => (o.alpha ?? r) / r;

/** x's [T, K] view and the problem's sizes. */
export function loraDims(x: { shape: readonly number[] }, a: { shape: readonly number[] }, w: { shape: readonly number[] }) {
  const k = x.shape[x.shape.length - 1];
  return { k, t: x.shape.reduce((p, q) => p * q, 1) / k, r: a.shape[0], n: w.shape[0] };
}

/**
 * C[i, j] = Σ_l A[i, l]·B[l, j] in float64, with A stored [I, L] (or [L, I] when aT) and B
 * stored [L, J] (or [J, L] when bT), row-major.
 */
export function mm(a: Float64Array, aT: boolean, b: Float64Array, bT: boolean, I: number, J: number, L: number): Float64Array {
  const c = new Float64Array(I * J);
  const [ai, al] = aT ? [1, I] : [L, 1];
  const [bl, bj] = bT ? [1, L] : [J, 1];
  for (let i = 0; i < I; i++) {
    for (let l = 0; l < L; l++) {
      const av = a[i * ai + l * al];
      if (av === 0) continue;
      const b0 = l * bl;
      const c0 = i * J;
      for (let j = 0; j < J; j++) c[c0 + j] += av * b[b0 + j * bj];
    }
  }
  return c;
}

export const abs = (x: Float64Array): Float64Array => x.map(Math.abs);

/** f32 accumulation of an L-term product sum: γ_L, γ_2L for f16 (the subgroup-matrix tier's truncating adds; see gemm/spec.ts). */
export const accGamma = (dtype: string, l: number): number => (dtype === 'f16' ? gamma(2 * l) : gamma(l));

/**
 * The error of an operand the kernels compute rather than read (fused_norm_lora's
 * normalised x, fused_mlp's h = silu(g)·u): |x' − x| ≤ rel·|x| + abs for every element
 * (abs one number, or one per element of x); a dropped element is exactly 0.
 */
export interface OperandError {
  rel: number;
  abs: number | Float64Array;
}

/** Σ_l abs_l·|M| over x's [rows, cols] layout (`keep` zeroes dropped elements): an OperandError's absolute share of a product with M. */
export function operandAbsShare(e: OperandError, keep: Uint8Array | undefined, m: Float64Array, mT: boolean, rows: number, cols: number, len: number, xFirst: boolean): Float64Array {
  const a = typeof e.abs === 'number' ? new Float64Array(keep ? keep.length : rows * len).fill(e.abs) : Float64Array.from(e.abs);
  if (keep) for (let q = 0; q < a.length; q++) if (!keep[q]) a[q] = 0;
  return xFirst ? mm(a, false, m, mT, rows, cols, len) : mm(m, mT, a, false, rows, cols, len);
}

/** x with the dropped elements zeroed (not scaled: the kernels fold 1/(1−p) into alpha). */
export function maskedX(x: RefTensor, o: LoraOpts): { xm: Float64Array; keep: Uint8Array } {
  const keep = dropoutMask(x.data.length, o.dropout, o.seed);
  return { xm: x.data.map((v, e) => (keep[e] ? v : 0)), keep };
}

/**
 * LoRA forward in float64 (PEFT's lora.Linear): xa = drop(x)·Aᵀ, y = x·Wᵀ + bias + s·xa·Bᵀ,
 * drop(x) = x·mask / (1 − p).
 */
export function loraForwardRef(i: { x: RefTensor; weight: RefTensor; loraA: RefTensor; loraB: RefTensor; bias?: RefTensor }, o: LoraOpts) {
  const { k, t, r, n } = loraDims(i.x, i.loraA, i.weight);
  const s = loraScale(o, r);
  const inv = 1 / (1 - o.dropout);
  const { xm, keep } = maskedX(i.x, o);
  const xa = mm(xm, false, i.loraA.data, true, t, r, k).map((v) => v * inv);
  const base = mm(i.x.data, false, i.weight.data, true, t, n, k);
  const lora = mm(xa, false, i.loraB.data, true, t, n, r);
  const y = new Float64Array(t * n);
  for (let q = 0; q < t * n; q++) y[q] = base[q] + s * lora[q] + (i.bias ? i.bias.data[q % n] : 0);
  return { y, xa, xm, keep, base, lora, dims: { k, t, r, n, s, inv } };
}

/**
 * Per-element error bounds of the forward's kernels (before the rounding to each output's
 * dtype, which boundsOf adds). The launch: xa = gemm(mask(x), A, α = fl(1/(1−p)), f32 out);
 * xa' = xa rounded to the dtype (f32: itself); t = gemm(xa', B, α = fl(s), dtype out);
 * y = gemm(x, W, c = t, β = 1, bias). With gemm's model (gemm/spec.ts: exact products,
 * γ_L of the L-term |sum| S, then γ_3 for the epilogue; plus u for an f32-rounded α):
 *   E_xa = inv·S1·(γ_K·(1+u)³ + γ_3 + u),  S1 = Σ_k |xm·A|
 *   E_xa' = E_xa + u_d·|xa| + σ_d            (u_d, σ_d: unit roundoff, least subnormal of the dtype)
 *   E_t = s·Σ_j |B|·E_xa' + s·Σ_j |xa'·B|·(γ_r·(1+u)³ + γ_3 + u) + u_d·|t| + σ_d
 *   E_y = γ_K·S2·(1+u)³ + γ_3·(S2 + |t| + E_t + |bias|) + E_t,  S2 = Σ_k |x·W|
 * The webgpu K-loop launch (lora_gemm.ts) is another: xs = s·xa rounded to the dtype
 * through f32 (fl(s)·xa in f32, then RNE; u_d = σ_d = 0 for f32), and y = x·Wᵀ + xs·Bᵀ + bias
 * as one (K + r)-term f32 sum, so the bound is the larger of the two models per element:
 *   E_xs = s·E_xa + ((1+u)² − 1 + u_d·(1+u)²)·s·(|xa| + E_xa) + σ_d
 *   E_y' = γ_{K+r}·(S2 + S3)·(1+u)³ + γ_3·(S2 + S3 + |bias|) + Σ_j |B|·E_xs,
 *   S3 = Σ_j (s·|xa| + E_xs)·|B|
 * A quantized W (QLoRA) reaches the gemm as W' with |W' − W| ≤ wErr (qweight.ts): S2 takes
 * |W| + wErr for |W'|, and the product's own error Σ_k |x|·wErr is added. A computed operand
 * x' (fused_norm_lora) adds its first-order share (xErr, OperandError).
 */
export function loraForwardErrors(i: { x: RefTensor; weight: RefTensor; loraA: RefTensor; loraB: RefTensor; bias?: RefTensor }, o: LoraOpts, wErr?: Float64Array, xErr?: OperandError) {
  const f = loraForwardRef(i, o);
  const { k, t, r, n, s, inv } = f.dims;
  const dt = i.x.dtype as FloatDType;
  const u = U32;
  const ud = dt === 'f32' ? 0 : unitRoundoff(dt);
  const sd = dt === 'f32' ? 0 : minSubnormal(dt);
  const g3 = gamma(3);
  const S1 = mm(abs(f.xm), false, abs(i.loraA.data), true, t, r, k);
  const eXa = S1.map((v) => inv * v * (accGamma(dt, k) * (1 + u) ** 3 + g3 + u));
  // W as the kernels use it: |W| grown by its dequantization error (QLoRA), whose own share
  // of y is E2.
  const wMag = wErr ? i.weight.data.map((v, q) => Math.abs(v) + wErr[q]) : abs(i.weight.data);
  const absX = abs(i.x.data);
  const S2 = mm(absX, false, wMag, true, t, n, k);
  const E2 = wErr ? mm(absX, false, wErr, true, t, n, k) : undefined;
  // An operand x' = x + δ (fused_norm_lora's normalised x): δ's first-order share of each
  // product, grown by that product's own rounding factor.
  const dY = new Float64Array(t * n);
  if (xErr) {
    const kA = operandAbsShare(xErr, f.keep, abs(i.loraA.data), true, t, r, k, true);
    for (let q = 0; q < t * r; q++) eXa[q] += inv * (xErr.rel * S1[q] + kA[q]) * (1 + accGamma(dt, k) * (1 + u) ** 3 + g3 + u);
    const wA = operandAbsShare(xErr, undefined, wMag, true, t, n, k, true);
    for (let q = 0; q < t * n; q++) dY[q] = (xErr.rel * S2[q] + wA[q]) * (1 + accGamma(dt, k) * (1 + u) ** 3 + g3);
  }
  const eXad = eXa.map((e, q) => e + ud * Math.abs(f.xa[q]) + sd);
  const absB = abs(i.loraB.data);
  const xadMag = f.xa.map((v, q) => Math.abs(v) + eXad[q]);
  const sB = mm(eXad, false, absB, true, t, n, r);
  const sXB = mm(xadMag, false, absB, true, t, n, r);
  // The K-loop launch's xs = fl(s)·xa rounded to the dtype, and its share of y.
  const eXs = eXa.map((e, q) => s * e + ((1 + u) ** 2 - 1 + ud * (1 + u) ** 2) * s * (Math.abs(f.xa[q]) + e) + sd);
  const sB3 = mm(eXs, false, absB, true, t, n, r);
  const S3 = mm(f.xa.map((v, q) => s * Math.abs(v) + eXs[q]), false, absB, true, t, n, r);
  const eY = new Float64Array(t * n);
  const eXaOut = eXa;
  for (let q = 0; q < t * n; q++) {
    const tv = Math.abs(s * f.lora[q]);
    const eT = s * sB[q] + s * sXB[q] * (accGamma(dt, r) * (1 + u) ** 3 + g3 + u) + ud * tv + sd;
    const b = i.bias ? Math.abs(i.bias.data[q % n]) : 0;
    const extra = dY[q] + (E2 ? E2[q] : 0);
    const composed = accGamma(dt, k) * S2[q] * (1 + u) ** 3 + g3 * (S2[q] + tv + eT + b) + eT;
    const fused = accGamma(dt, k + r) * (S2[q] + S3[q]) * (1 + u) ** 3 + g3 * (S2[q] + S3[q] + b) + sB3[q];
    eY[q] = Math.max(composed, fused) + extra;
  }
  return { f, eY, eXa: eXaOut };
}
