import { z } from 'zod';
import { FLOAT_DTYPES } from '../../dtype.js';
import { DTypeError, ShapeError } from '../../errors.js';
import { expectDtype, expectNonEmptyAxis, expectRank, finite, fmt, i32Int, required, rowsCols } from '../check.js';
import { U32, boundsOf, gamma } from '../tolerance.js';
import { defineOp, type TensorInfo } from '../types.js';
import { CE_FORWARD_BENCH, CE_FORWARD_CASES } from './cases.js';
import { crossEntropyRef, lseError, softcapError, targetKind, type CeOptions } from './reference.js';
import { crossEntropyFuzz } from './fuzz.js';

/**
 * Options of cross_entropy and cross_entropy_backward (PyTorch's names, camelCased).
 * - ignoreIndex: rows whose target equals it contribute 0 and are not counted.
 * - labelSmoothing ε in [0, 1): loss = (1−ε)·nll + ε·mean_j(−log p_j), as PyTorch.
 * - softcap: z = softcap·tanh(logit/softcap) before everything else (Gemma-2).
 * - reduction: 'mean' divides by the count of non-ignored targets — with none it is NaN,
 *   like PyTorch; 'sum'; 'none' returns one loss per row.
 */
export const crossEntropyOptions = z
  .object({
    ignoreIndex: i32Int().default(-100),
    labelSmoothing: finite().min(0).lt(1).default(0),
    /** Packed as f32 with fl(1/softcap): both must be normal f32s, so softcap ∈ [2^-126, 2^126]. */
    softcap: finite()
      .refine((v) => v >= 2 ** -126 && v <= 2 ** 126, {
        error: (iss) => `expected a number in [2^-126, 2^126] (the kernels take softcap and 1/softcap as f32; outside it one of them is subnormal or Inf), got ${String(iss.input)}`,
      })
      .optional(),
    reduction: z.enum(['mean', 'sum', 'none']).default('mean'),
  })
  .strict();
export type CrossEntropyOptions = z.input<typeof crossEntropyOptions>;

/** Targets: i32 with one entry per row, as [T] or the logits' leading dims ([B, S]). */
export function checkTargets(op: string, t: TensorInfo, logits: TensorInfo): void {
  const lead = logits.shape.slice(0, -1);
  const rows = lead.reduce((a, b) => a * b, 1);
  const flat = t.shape.length === 1 && t.shape[0] === rows;
  const same = t.shape.length === lead.length && t.shape.every((d, k) => d === lead[k]);
  if (t.dtype !== 'i32' || !(flat || same)) {
    throw new (t.dtype !== 'i32' && (flat || same) ? DTypeError : ShapeError)(
      `[${op}] targets: expected i32[${rows}]${lead.length > 1 ? ` or i32[${lead.join(',')}]` : ''} (one class per row of logits ${fmt(logits)}), got ${fmt(t)}`,
    );
  }
}

export function checkLogits(op: string, i: { logits?: TensorInfo }): { x: TensorInfo; rows: number; v: number } {
  const x = required(op, 'logits', i.logits);
  expectRank(op, 'logits', x, [2, 3], '[T, V] or [B, S, V]');
  expectDtype(op, 'logits', x, FLOAT_DTYPES);
  // No class for any target to name, and logsumexp over nothing is −Inf: an error naming the
  // axis. Zero rows (an empty batch) are fine.
  expectNonEmptyAxis(op, 'logits', x, -1, 'the vocabulary V');
  const [rows, v] = rowsCols(x.shape);
  return { x, rows, v };
}

export const crossEntropy = defineOp({
  name: 'cross_entropy',
  summary:
    'Cross-entropy over the vocabulary (ignore_index, label smoothing, logit softcap, mean/sum/none), streamed in one pass per row; also returns lse for the backward. ' +
    'A target outside [0, V) that is not ignoreIndex gives a NaN loss for its row (so mean/sum are NaN) — never an out-of-bounds read.',
  inputs: [
    { name: 'logits', doc: '[T, V] or [B, S, V] (rows flattened), f32/f16/bf16' },
    { name: 'targets', doc: 'i32 [T] (or the leading dims of logits): class per row, or ignoreIndex' },
  ],
  outputs: [
    { name: 'loss', doc: 'f32: [] for mean/sum, [T] for none' },
    { name: 'lse', doc: 'f32 [T] logsumexp of each row (saved for the backward)' },
  ],
  options: crossEntropyOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const op = 'cross_entropy';
    const { x, rows } = checkLogits(op, i);
    checkTargets(op, required(op, 'targets', i.targets), x);
    return { loss: { dtype: 'f32', shape: o.reduction === 'none' ? [rows] : [1] }, lse: { dtype: 'f32', shape: [rows] } };
  },
  // No rows: 'sum' is 0, 'mean' is 0/0 = NaN (as PyTorch); 'none' and lse are empty.
  emptyResult(i, o) {
    return rowsCols(i.logits!.shape)[0] === 0 ? { loss: o.reduction === 'mean' ? NaN : 0 } : undefined;
  },
  reference(i, o) {
    const r = crossEntropyRef(i.logits!, i.targets!, o as CeOptions);
    return { loss: { dtype: 'f32', shape: [r.loss.length], data: r.loss }, lse: { dtype: 'f32', shape: [r.rows], data: r.lse } };
  },
  bounds(i, o, ref) {
    // lse: see lseError (the online log2-domain sum-exp, log near 1, the V-term sum γ_V).
    // A counted row's loss fl(fl(lse − fl(c1·z_t)) − fl(c2·Σz)), c1 = fl(1−ε), c2 = fl(ε/V):
    //   Δlse + c1·dz_t + 2u·|c1·z_t| (c1's rounding, the product) + u·|lse − c1·z_t|
    //   + c2·(γ_V·Σ|z| + Σ dz) + 2u·|c2·Σz| (the smoothing term, when ε > 0) + u·|loss|.
    // sum: Σ_rows of those + γ_T·Σ|loss_r| (the T-term reduction); mean: that over the
    // (exact) count, + 6u·|mean| (the division's 2.5 ulp, the count's conversion to f32).
    const x = i.logits!;
    const r = crossEntropyRef(x, i.targets!, o as CeOptions);
    const { z, rows, v } = r;
    const eps = o.labelSmoothing;
    const c1 = 1 - eps;
    const c2 = eps / v;
    const dz = new Float64Array(z.length);
    for (let k = 0; k < z.length; k++) dz[k] = softcapError(x.data[k], o.softcap).dz;
    const eLse = new Float64Array(rows);
    const eRow = new Float64Array(rows);
    let eSum = 0;
    let mag = 0;
    for (let row = 0; row < rows; row++) {
      const off = row * v;
      const lse = r.lse[row];
      eLse[row] = lseError(z, dz, off, v, lse);
      const t = i.targets!.data[row];
      if (targetKind(t, v, o.ignoreIndex) !== 'valid') continue;
      const zt = z[off + t];
      let e = eLse[row] + c1 * dz[off + t] + 2 * U32 * Math.abs(c1 * zt) + U32 * Math.abs(lse - c1 * zt) + U32 * Math.abs(r.rowLoss[row]);
      if (eps > 0) {
        let sz = 0;
        let sabs = 0;
        let sdz = 0;
        for (let j = 0; j < v; j++) {
          sz += z[off + j];
          sabs += Math.abs(z[off + j]);
          sdz += dz[off + j];
        }
        e += c2 * (gamma(v) * sabs + sdz) + 2 * U32 * Math.abs(c2 * sz);
      }
      eRow[row] = e;
      eSum += e;
      mag += Math.abs(r.rowLoss[row]);
    }
    const lossData = ref.loss!.data;
    let loss: Float64Array;
    if (o.reduction === 'none') loss = boundsOf('f32', lossData, (k) => eRow[k]);
    else {
      const total = eSum + gamma(rows) * mag;
      loss = boundsOf('f32', lossData, () => (o.reduction === 'sum' ? total : total / Math.max(1, r.count) + 6 * U32 * Math.abs(lossData[0])));
    }
    return { loss, lse: boundsOf('f32', ref.lse!.data, (k) => eLse[k]) };
  },
  cases: CE_FORWARD_CASES,
  bench: CE_FORWARD_BENCH,
  cost(i) {
    const x = i.logits!;
    const [rows, v] = rowsCols(x.shape);
    const e = x.dtype === 'f32' ? 4 : 2;
    // The logits once; targets in, lse and the per-row loss out.
    return { flops: 4 * rows * v, bytes: rows * v * e + 12 * rows };
  },
  fuzz: crossEntropyFuzz,
});
