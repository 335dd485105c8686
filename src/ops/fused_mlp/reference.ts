import type { FloatDType } from '../../dtype.js';
import { abs, accGamma, loraForwardErrors, loraForwardRef, mm, operandAbsShare, type LoraOpts, type OperandError } from '../fused_lora_forward/reference.js';
import { rmsNormRef } from '../rms_norm/reference.js';
import { sigmoid, swigluRef } from '../swiglu/reference.js';
import { U32, ULP, gamma, toDtype } from '../tolerance.js';
import type { RefTensor } from '../types.js';

/** The three projections, in launch order; each may carry a LoRA adapter. */
export const PROJS = ['gate', 'up', 'down'] as const;
export type Proj = (typeof PROJS)[number];

/** The frozen weight's input name of a projection. */
export const weightName = (p: Proj): string => `w${p[0].toUpperCase()}${p.slice(1)}`;

/**
 * Each adapter's dropout mask is its own (PEFT gives every adapted module its own dropout):
 * projection p uses seed + p (mod 2^32) in fused_lora's counter-based mask, p = 0, 1, 2 for
 * gate, up, down, so gate and up drop different elements of the same x.
 */
export const projSeed = (seed: number, p: Proj): number => (seed + PROJS.indexOf(p)) % 2 ** 32;

/** The parsed options of fused_mlp (spec.ts): the LoRA options shared by the adapters, and whether the backward recomputes g and u. */
export interface MlpOpts extends LoraOpts {
  recompute: boolean;
}

export type MlpInputs = Record<string, RefTensor | undefined> & { x: RefTensor; wGate: RefTensor; wUp: RefTensor; wDown: RefTensor };

/** The LoRA options of projection p (its own mask seed). */
export const projOpts = (o: LoraOpts, p: Proj): LoraOpts => ({ ...o, seed: projSeed(o.seed, p) });

/** One projection in float64: x·Wᵀ (+ s·(drop(x)·Aᵀ)·Bᵀ when the adapter is present), and its xa. */
export function projRef(x: RefTensor, w: RefTensor, a: RefTensor | undefined, b: RefTensor | undefined, o: LoraOpts) {
  const k = x.shape[x.shape.length - 1];
  const t = x.data.length / k;
  if (a && b) {
    const f = loraForwardRef({ x, weight: w, loraA: a, loraB: b }, o);
    return { y: f.y, xa: f.xa as Float64Array | undefined };
  }
  return { y: mm(x.data, false, w.data, true, t, w.shape[0], k), xa: undefined };
}

const adapter = (i: MlpInputs, p: Proj) => ({ a: i[`${p}A`], b: i[`${p}B`] });

/** Float64: g = proj_gate(x), u = proj_up(x), h = silu(g)·u, y = proj_down(h). */
export function mlpForwardRef(i: MlpInputs, o: LoraOpts) {
  const ga = adapter(i, 'gate');
  const ua = adapter(i, 'up');
  const da = adapter(i, 'down');
  const g = projRef(i.x, i.wGate, ga.a, ga.b, projOpts(o, 'gate'));
  const u = projRef(i.x, i.wUp, ua.a, ua.b, projOpts(o, 'up'));
  const h = swigluRef(g.y, u.y);
  const lead = i.x.shape.slice(0, -1);
  const hT: RefTensor = { dtype: i.x.dtype, shape: [...lead, i.wGate.shape[0]], data: h };
  const d = projRef(hT, i.wDown, da.a, da.b, projOpts(o, 'down'));
  return { g: g.y, u: u.y, h: hT, y: d.y, xa: { gate: g.xa, up: u.xa, down: d.xa } };
}

/**
 * A projection without an adapter is one gemm (gemm/spec.ts's model, α = 1, no c, output in
 * the dtype): γ_K·S·(1+u)³ + γ_3·S, S = Σ_k |x·W|; an operand x' = x + δ (OperandError)
 * adds δ's share Σ_k |δ|·|W| grown by the product's own rounding factor.
 */
export function projErrors(x: RefTensor, w: RefTensor, a: RefTensor | undefined, b: RefTensor | undefined, o: LoraOpts, xErr?: OperandError) {
  if (a && b) {
    const e = loraForwardErrors({ x, weight: w, loraA: a, loraB: b }, o, undefined, xErr);
    return { eY: e.eY, eXa: e.eXa as Float64Array | undefined };
  }
  const k = x.shape[x.shape.length - 1];
  const t = x.data.length / k;
  const n = w.shape[0];
  const dt = x.dtype as FloatDType;
  const f = accGamma(dt, k) * (1 + U32) ** 3;
  const absW = abs(w.data);
  const S = mm(abs(x.data), false, absW, true, t, n, k);
  const eY = S.map((v) => f * v + gamma(3) * v);
  if (xErr) {
    const d = operandAbsShare(xErr, undefined, absW, true, t, n, k, true);
    for (let q = 0; q < eY.length; q++) eY[q] += (xErr.rel * S[q] + d[q]) * (1 + f + gamma(3));
  }
  return { eY, eXa: undefined };
}

/** max |silu'(z)| over all z: silu'(z) = σ(z)·(1 + z·(1 − σ(z))) lies in [−0.0999, 1.0999]. */
export const SILU_LIP = 1.1;

/**
 * The launch: g' and u' are the two projections rounded to the dtype, h' = swiglu(g', u')
 * (swiglu's kernel) rounded to the dtype, then the down projection of h'. With E_g, E_u the
 * projections' bounds after that rounding (toDtype), h' − h is
 *   |silu(g')·u' − silu(g)·u| ≤ 1.1·E_g·(|u| + E_u) + |silu(g)|·E_u     (silu is 1.1-Lipschitz)
 * plus swiglu's own evaluation error (ULP.exp(|g| + E_g) + 1 + ULP.div + 2)·U32 of the
 * computed |h| (swiglu/spec.ts), then the rounding to the dtype; the down projection takes
 * that as a per-element operand error (OperandError.abs). `xErr`: x itself is computed (the
 * norm prologue's n, mlpNormErrors), an operand error of the gate and up projections.
 */
export function mlpForwardErrors(i: MlpInputs, o: LoraOpts, xErr?: OperandError) {
  const f = mlpForwardRef(i, o);
  const dt = i.x.dtype as FloatDType;
  const ga = adapter(i, 'gate');
  const ua = adapter(i, 'up');
  const da = adapter(i, 'down');
  const eg = projErrors(i.x, i.wGate, ga.a, ga.b, projOpts(o, 'gate'), xErr);
  const eu = projErrors(i.x, i.wUp, ua.a, ua.b, projOpts(o, 'up'), xErr);
  const hErr = hError(dt, f.g, f.u, f.h.data, eg.eY, eu.eY);
  const ed = projErrors(f.h, i.wDown, da.a, da.b, projOpts(o, 'down'), { rel: 0, abs: hErr });
  return { f, eG: eg.eY, eU: eu.eY, eY: ed.eY, eXa: { gate: eg.eXa, up: eu.eXa, down: ed.eXa } };
}

/**
 * |h' − h| for h' = swiglu(g', u') rounded to the dtype, from the f32 bounds eG, eU of g and u
 * before their rounding to the dtype (see mlpForwardErrors); `exact`: g and u are given in
 * the dtype (fused_mlp_backward's saved ones), no error and no rounding.
 */
export function hError(dt: FloatDType, g: Float64Array, u: Float64Array, h: Float64Array, eG: Float64Array, eU: Float64Array, exact = false): Float64Array {
  const out = new Float64Array(h.length);
  for (let q = 0; q < h.length; q++) {
    const Eg = exact ? 0 : toDtype(dt, g[q], eG[q]);
    const Eu = exact ? 0 : toDtype(dt, u[q], eU[q]);
    const prop = SILU_LIP * Eg * (Math.abs(u[q]) + Eu) + Math.abs(g[q] * sigmoid(g[q])) * Eu;
    const kern = (ULP.exp(Math.abs(g[q]) + Eg) + 1 + ULP.div + 2) * U32 * (Math.abs(h[q]) + prop);
    out[q] = toDtype(dt, h[q], prop + kern);
  }
  return out;
}


/**
 * The norm prologue (normWeight given): s = x (+ residual), n = rms_norm(s)·γ exactly as the
 * rms_norm op defines it (rms_norm/reference.ts), in float64; the MLP then runs on n (as a
 * tensor of x's dtype: the kernels round n to it where rms_norm rounds its y).
 */
export function mlpNormRef(x: RefTensor, normWeight: RefTensor, residual: RefTensor | undefined, eps: number) {
  const { h, y, rstd } = rmsNormRef(x, normWeight, residual, eps);
  return { s: h, n: { dtype: x.dtype, shape: x.shape, data: y } as RefTensor, rstd };
}

/**
 * |n' − n| per element: rms_norm's bound on its y (rms_norm/spec.ts: (K/2 + 10)·U32 relative —
 * Σs² over K terms, the square root, mean, +eps, inverseSqrt, s·r·γ and the residual add),
 * then the rounding of n to x's dtype (toDtype). Also the relative bound of rstd.
 */
export function mlpNormErrors(dt: FloatDType, n: Float64Array, k: number): { nErr: Float64Array; rel: number } {
  const rel = (k / 2 + 10) * U32;
  return { nErr: n.map((v) => toDtype(dt, v, rel * Math.abs(v))), rel };
}
