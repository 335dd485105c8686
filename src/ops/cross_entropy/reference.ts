import { rowsCols } from '../check.js';
import { ULP, U32, gamma } from '../tolerance.js';
import type { RefTensor } from '../types.js';

/** The parsed options both cross-entropy ops share (see spec.ts for the schema and docs). */
export interface CeOptions {
  ignoreIndex: number;
  labelSmoothing: number;
  softcap?: number;
  reduction: 'mean' | 'sum' | 'none';
}

/** What a row's target means: counted (a class in [0, V)), ignored, or invalid (→ NaN). */
export type TargetKind = 'valid' | 'ignored' | 'invalid';
export function targetKind(t: number, v: number, ignoreIndex: number): TargetKind {
  if (t === ignoreIndex) return 'ignored';
  return Number.isInteger(t) && t >= 0 && t < v ? 'valid' : 'invalid';
}

/** The smallest normal f32: WGSL lets any result below it be flushed to zero. */
export const FLUSH = 2 ** -126;

/** z = cap·tanh(x/cap) (Gemma-2 logit softcap), or x itself. */
export const capped = (x: number, cap: number | undefined): number => (cap === undefined ? x : cap * Math.tanh(x / cap));

/**
 * ∂z/∂x = sech²(x/cap) (1 without a softcap), as 4e/(1+e)² with e = exp(−2|x/cap|): exact to
 * a few ulp for every x. 1 − tanh² cancels: its relative error is ~1e-8 at |x/cap| = 10,
 * 2e-6 at 13, 4% at 18, and past 19 tanh rounds to 1 and it is 0.
 */
export function softcapSlope(x: number, cap: number | undefined): number {
  if (cap === undefined) return 1;
  const e = Math.exp(-2 * Math.abs(x / cap));
  return (4 * e) / (1 + e) ** 2;
}

/**
 * Cross-entropy in float64, row by row: lse = logsumexp_j z_j and, for a counted row,
 *   loss = lse − (1−ε)·z_t − (ε/V)·Σ_j z_j
 * (PyTorch's label smoothing: (1−ε)·nll + ε·mean_j(−log p_j)). Ignored rows give 0; a
 * target outside [0, V) that is not ignoreIndex gives NaN. The count is the number of
 * non-ignored targets (invalid ones included, their NaN poisons the reduction anyway);
 * mean = Σ loss / count, NaN when count is 0 (as PyTorch).
 */
export function crossEntropyRef(logits: RefTensor, targets: RefTensor, o: CeOptions) {
  const [rows, v] = rowsCols(logits.shape);
  const z = new Float64Array(logits.data.length);
  for (let i = 0; i < z.length; i++) z[i] = capped(logits.data[i], o.softcap);
  const lse = new Float64Array(rows);
  const rowLoss = new Float64Array(rows);
  const eps = o.labelSmoothing;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const off = r * v;
    let m = -Infinity;
    for (let j = 0; j < v; j++) m = Math.max(m, z[off + j]);
    let s = 0;
    let sz = 0;
    for (let j = 0; j < v; j++) {
      s += Math.exp(z[off + j] - m);
      sz += z[off + j];
    }
    lse[r] = m + Math.log(s);
    const t = targets.data[r];
    const kind = targetKind(t, v, o.ignoreIndex);
    if (kind !== 'ignored') count++;
    rowLoss[r] = kind === 'ignored' ? 0 : kind === 'invalid' ? NaN : lse[r] - (1 - eps) * z[off + t] - (eps / v) * sz;
  }
  let total = 0;
  for (let r = 0; r < rows; r++) total += rowLoss[r];
  const loss = o.reduction === 'none' ? rowLoss : Float64Array.of(o.reduction === 'sum' ? total : count === 0 ? NaN : total / count);
  return { z, lse, rowLoss, loss, count, rows, v };
}

/**
 * The error model of the kernels' softcap (wgsl/loss/softcap.wgsl), per element x:
 *   a = |x|·fl(1/cap)          relative 2u (the reciprocal's rounding, the product)
 *   e = exp(−2a)               relative ε_e = (ULP.exp(2a) + 4a)·u (exp's budget, plus a's 2u
 *                              error moving the argument 2a by 4a·u)
 *   r = 1/(1+e)                1+e: u; the division: 2.5 ulp = 5u
 *   t = (1−e)·r                |∂t/∂e|·e·ε_e = 2e/(1+e)²·ε_e, plus 8u·t (1−e: u, r: 6u, product: u)
 *   z = fl(cap)·t              2u·|z| (cap's rounding to f32, the product)
 *   s = 4·e·r·r  (= sech²)     relative (1−e)/(1+e)·ε_e (s's sensitivity to e) + 14u (r² twice 6u,
 *                              two products)
 * WGSL may flush subnormal results to zero: e below 2^-126 moves t by ≤ 2^-125 and s by
 * ≤ 2^-124 absolutely (the `…·FLUSH` terms).
 * Absolute errors of z are what matter downstream: a logit error δz moves exp(z−·) by the
 * relative error δz and lse by at most max δz. tanh is written from exp on purpose: WGSL's
 * own tanh is only "inherited from sinh/cosh", which gives no usable bound.
 */
export function softcapError(x: number, cap: number | undefined): { dz: number; sRel: number; sAbs: number } {
  if (cap === undefined) return { dz: 0, sRel: 0, sAbs: 0 };
  const a = Math.abs(x) / cap;
  const e = Math.exp(-2 * a);
  const epsE = (ULP.exp(2 * a) + 4 * a) * U32;
  const t = Math.tanh(a);
  const dt = ((2 * e) / (1 + e) ** 2) * epsE + 8 * U32 * t;
  return { dz: cap * (dt + 2 * FLUSH) + 2 * U32 * cap * t, sRel: ((1 - e) / (1 + e)) * epsE + 14 * U32, sAbs: 4 * FLUSH };
}

/**
 * One term 2^(t_j − m) of the online log2-domain sum (loss/lse_online.wgsl), relative to its
 * exact exp(z_j − max z): the logit's error dz, 2u·|z| (log2e's rounding and the product),
 * ln2·u·W (the subtraction t − m, |t − m| ≤ W = (max z − z)·log2e + 1) and exp2's own.
 */
export function onlineTermError(z: number, dz: number, mz: number): number {
  const w = (mz - z) * Math.LOG2E + 1;
  return dz + 2 * U32 * Math.abs(z) + Math.LN2 * U32 * w + ULP.exp(w) * U32;
}

/** The online sum's own relative error over V terms: γ_V, and terms / rescales flushed below 2^-126 against S > 1/2. */
export const onlineSumError = (v: number) => gamma(v) + (2 * v + 1024) * 2 * FLUSH;

/**
 * The kernel's lse (wgsl/loss/cross_entropy.wgsl) in the log2 domain: t_j = fl(z_j·log2e),
 * per-thread integer running maxima m (ceil of t), S = Σ 2^(t_j − m) rescaled by exact
 * powers of two (ldexp), so every term sees exactly one exp2; then lse = M·ln2 + log(S).
 * Error of lse for one row, from the exact z and their softcap errors dz:
 *   term j, relative:  dz_j (the logit's error) + 2u·|z_j| (log2e's rounding and the product,
 *                      times ln2 back in the natural domain) + ln2·u·W_j (the subtraction
 *                      t − m, |t − m| ≤ W_j = (max z − z_j)·log2e + 1) + ULP.exp(W_j)·u (exp2)
 *   S, relative:       Σ_j p_j·ρ_j + γ_V (the V-term sum of positive terms, any order)
 *                      + (2V + 1024)·2^-125 (terms/rescales flushed below FLUSH = 2^-126,
 *                      each losing < FLUSH, relative to S > 1/2)
 *   log S:             |log(1+r)| ≤ r/(1−r) from S's error r; log's own error: absolute
 *                      2^-21 for S in [0.5, 2], else 3 ulp = 6u·|log S| (take the larger);
 *                      |log S| ≤ |lse − max z| + ln2
 *   M·ln2:             2u·|M·ln2| (ln2's rounding, the product), |M·ln2| ≤ |max z| + 1
 *   the final add:     u·|lse|
 */
export function lseError(z: Float64Array, dz: Float64Array, off: number, v: number, lse: number): number {
  let mz = -Infinity;
  for (let j = 0; j < v; j++) mz = Math.max(mz, z[off + j]);
  let rel = 0;
  for (let j = 0; j < v; j++) rel += Math.exp(z[off + j] - lse) * onlineTermError(z[off + j], dz[off + j], mz);
  rel += onlineSumError(v);
  const logS = Math.abs(lse - mz) + Math.LN2;
  const logErr = Math.max(2 ** -21, ULP.log * U32 * logS);
  return rel / (1 - rel) + logErr + 2 * U32 * (Math.abs(mz) + 1) + U32 * Math.abs(lse);
}
