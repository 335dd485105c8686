import type { z } from 'zod';
import { FLOAT_DTYPES } from '../../dtype.js';
import { expectShape, required, rowsCols } from '../check.js';
import { CE_BACKWARD_BENCH, CE_BACKWARD_CASES } from '../cross_entropy/cases.js';
import { FLUSH, softcapError, softcapSlope, type CeOptions } from '../cross_entropy/reference.js';
import { checkLogits, checkTargets, crossEntropyOptions } from '../cross_entropy/spec.js';
import { ULP, U32, boundsOf } from '../tolerance.js';
import { defineOp } from '../types.js';
import { crossEntropyBackwardRef } from './reference.js';
import { crossEntropyBackwardFuzz } from '../cross_entropy/fuzz.js';

/** The same options as the forward (they must match the forward call). */
export const crossEntropyBackwardOptions = crossEntropyOptions;
export type CrossEntropyBackwardOptions = z.input<typeof crossEntropyBackwardOptions>;

export const crossEntropyBackward = defineOp({
  name: 'cross_entropy_backward',
  summary:
    'Gradient of cross_entropy w.r.t. the logits (dtype of logits), recomputing softmax from the forward lse row by row; ' +
    "for 'mean' the count of non-ignored targets is recomputed on the device. Rows with an invalid target get NaN.",
  inputs: [
    { name: 'logits', doc: '[T, V] or [B, S, V], f32/f16/bf16' },
    { name: 'targets', doc: 'i32 [T] (or the leading dims of logits)' },
    { name: 'lse', doc: 'f32 [T] from the forward (of the softcapped logits)' },
    { name: 'dloss', doc: "f32 upstream gradient: [T] for reduction 'none', [1] for mean/sum" },
  ],
  outputs: [{ name: 'dlogits', doc: '[T, V], dtype of logits' }],
  options: crossEntropyBackwardOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const op = 'cross_entropy_backward';
    const { x, rows } = checkLogits(op, i);
    checkTargets(op, required(op, 'targets', i.targets), x);
    expectShape(op, 'lse', required(op, 'lse', i.lse), [rows], 'f32');
    expectShape(op, 'dloss', required(op, 'dloss', i.dloss), o.reduction === 'none' ? [rows] : [1], 'f32');
    return { dlogits: { dtype: x.dtype, shape: x.shape } };
  },
  reference(i, o) {
    const r = crossEntropyBackwardRef(i.logits!, i.targets!, i.lse!, i.dloss!, o as CeOptions);
    return { dlogits: { dtype: i.logits!.dtype, shape: i.logits!.shape, data: r.dx } };
  },
  bounds(i, o, ref) {
    // Per element, with the given lse (exact input) and the softcap model (softcapError):
    //   p = exp(fl(z − lse)):  relative ρ = dz + u·|z − lse| (the subtraction) + ULP.exp(z − lse)·u
    //   q = fl(fl(p − c2) − [j=t]·c1): p·ρ + u·c2 (c2 = fl(ε/V)) + u·|p − c2|
    //                                  + [j=t]·(u·c1 (c1 = fl(1−ε)) + u·|q|)
    //   d = fl(g·q) then fl(d·s):      |g|·s·|q̂ − q| + |d|·(u + [softcap]·(u + sRel) + gRel),
    // gRel = 6u for 'mean' (g = dloss/count: division 2.5 ulp, the count's conversion), else 0.
    // Results below 2^-126 may be flushed to zero (WGSL): absolutely FLUSH in p (exp's relative
    // budget does not hold there), |q|·sAbs in s, and FLUSH for each of the two products.
    // Then one rounding to the dtype of logits.
    const x = i.logits!;
    const r = crossEntropyBackwardRef(x, i.targets!, i.lse!, i.dloss!, o as CeOptions);
    const { rows, v, g, kinds } = r;
    const c1 = 1 - o.labelSmoothing;
    const c2 = o.labelSmoothing / v;
    const gRel = o.reduction === 'mean' ? 6 * U32 : 0;
    const dx = ref.dlogits!.data;
    const e = new Float64Array(rows * v);
    for (let row = 0; row < rows; row++) {
      if (kinds[row] !== 'valid') continue;
      const t = i.targets!.data[row];
      const lse = i.lse!.data[row];
      for (let j = 0; j < v; j++) {
        const k = row * v + j;
        const xv = x.data[k];
        const zv = o.softcap === undefined ? xv : o.softcap * Math.tanh(xv / o.softcap);
        const s = softcapSlope(xv, o.softcap);
        const { dz, sRel, sAbs } = softcapError(xv, o.softcap);
        const d = zv - lse;
        const p = Math.exp(d);
        const rho = dz + U32 * Math.abs(d) + ULP.exp(d) * U32;
        const q = p - c2 - (j === t ? c1 : 0);
        let eq = p * rho + FLUSH + U32 * c2 + U32 * Math.abs(p - c2);
        if (j === t) eq += U32 * c1 + U32 * Math.abs(q);
        const rel = U32 + (o.softcap === undefined ? 0 : U32 + sRel) + gRel;
        e[k] = Math.abs(g[row]) * (s * eq + Math.abs(q) * sAbs) + Math.abs(dx[k]) * rel + 2 * FLUSH;
      }
    }
    return { dlogits: boundsOf(x.dtype, dx, (k) => e[k]) };
  },
  cases: CE_BACKWARD_CASES,
  bench: CE_BACKWARD_BENCH,
  cost(i) {
    const [rows, v] = rowsCols(i.logits!.shape);
    const e = i.logits!.dtype === 'f32' ? 4 : 2;
    // The logits in, dlogits out; targets, lse (and dloss) per row.
    return { flops: 4 * rows * v, bytes: 2 * rows * v * e + 12 * rows };
  },
  gradCheck: {
    forward: 'cross_entropy',
    grads: { logits: 'dlogits' },
    upstream: { loss: 'dloss' },
    // NaN losses (no counted target under 'mean', invalid targets) have no derivative to check.
    applies: (c) => !c.label.includes('invalid-targets') && !(c.label.includes('all-ignored') && c.label.includes('mean')),
    backwardInputs: (fin, fout, up) => ({ logits: fin.logits, targets: fin.targets, lse: fout.lse, dloss: up.loss }),
  },
  fuzz: crossEntropyBackwardFuzz,
});
