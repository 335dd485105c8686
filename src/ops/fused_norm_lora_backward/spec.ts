import { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { ShapeError } from '../../errors.js';
import { expectShape, fmt, required } from '../check.js';
import { loraDims, type LoraOpts } from '../fused_lora_forward/reference.js';
import { loraCommonOptions } from '../fused_lora_forward/spec.js';
import { NORM_LORA_BACKWARD_BENCH, NORM_LORA_BACKWARD_CASES } from '../fused_norm_lora/cases.js';
import { normLoraBackwardFuzz } from '../fused_norm_lora/fuzz.js';
import { checkNormLora } from '../fused_norm_lora/spec.js';
import { boundsOf } from '../tolerance.js';
import { defineOp } from '../types.js';
import { normLoraBackwardErrors, normLoraBackwardRef, type NormLoraBackwardInputs } from './reference.js';

/** The forward's LoRA options (the same alpha, dropout and seed regenerate its mask) and `accumulate`; eps is not needed: rstd is the saved one. */
export const fusedNormLoraBackwardOptions = z.object({ ...loraCommonOptions, accumulate: z.boolean().default(false) }).strict();
export type FusedNormLoraBackwardOptions = z.input<typeof fusedNormLoraBackwardOptions>;

const OP = 'fused_norm_lora_backward';

export const fusedNormLoraBackward = defineOp({
  name: OP,
  summary:
    "Gradients of fused_norm_lora (W frozen) from its saved rstd and xa: dn = dy·W + s·((dy·B)·A) ⊙ mask/(1−p), dA = s·(dy·B)ᵀ·drop(n) (n re-formed in the gemm's tile load, not stored), dB = s·dyᵀ·xa, then RMSNorm's backward of dn: dx and dγ; dγ, dA, dB in f32, `accumulate` adds into dAIn/dBIn.",
  inputs: [
    { name: 'dy', doc: '[..., N] upstream gradient, dtype of x' },
    { name: 'x', doc: '[..., K], the forward input' },
    { name: 'gamma', doc: '[K]' },
    { name: 'weight', doc: '[N, K]' },
    { name: 'loraA', doc: '[r, K]' },
    { name: 'loraB', doc: '[N, r]' },
    { name: 'rstd', doc: 'f32 [...], the forward output rstd' },
    { name: 'xa', doc: 'f32 [..., r], the forward output xa' },
    { name: 'dAIn', optional: true, doc: 'f32 [r, K]: with accumulate' },
    { name: 'dBIn', optional: true, doc: 'f32 [N, r]: with accumulate' },
  ],
  outputs: [
    { name: 'dx', doc: 'shape and dtype of x' },
    { name: 'dGamma', doc: 'f32 [K], summed over rows' },
    { name: 'dA', doc: 'f32 [r, K]' },
    { name: 'dB', doc: 'f32 [N, r]' },
  ],
  options: fusedNormLoraBackwardOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const dy = required(OP, 'dy', i.dy);
    const { x, k, n, r, lead } = checkNormLora(OP, i);
    expectShape(OP, 'dy', dy, [...lead, n], x.dtype);
    expectShape(OP, 'rstd', required(OP, 'rstd', i.rstd), lead, 'f32');
    expectShape(OP, 'xa', required(OP, 'xa', i.xa), [...lead, r], 'f32');
    for (const [name, t, shape] of [
      ['dAIn', i.dAIn, [r, k]],
      ['dBIn', i.dBIn, [n, r]],
    ] as const) {
      if (o.accumulate) expectShape(OP, name, required(OP, name, t), shape, 'f32');
      else if (t) throw new ShapeError(`[${OP}] ${name}: given without accumulate (it would be ignored); expected none, got ${fmt(t)}`);
    }
    return { dx: { dtype: x.dtype, shape: x.shape }, dGamma: { dtype: 'f32', shape: [k] }, dA: { dtype: 'f32', shape: [r, k] }, dB: { dtype: 'f32', shape: [n, r] } };
  },
  // Over zero rows every gradient is a sum of nothing: 0 (with accumulate, dAIn/dBIn pass
  // through the kernels' K = 0 products, so there is work to launch).
  emptyResult(i, o) {
    const t = i.x!.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    return t === 0 && !o.accumulate ? { dGamma: 0, dA: 0, dB: 0 } : undefined;
  },
  reference(i, o) {
    const b = normLoraBackwardRef(i as NormLoraBackwardInputs, o as LoraOpts);
    const { k, n, r } = b.dims;
    return {
      dx: { dtype: i.x!.dtype, shape: i.x!.shape, data: b.dx },
      dGamma: { dtype: 'f32', shape: [k], data: b.dGamma },
      dA: { dtype: 'f32', shape: [r, k], data: b.dA },
      dB: { dtype: 'f32', shape: [n, r], data: b.dB },
    };
  },
  bounds(i, o, ref) {
    // Derived in reference.ts (normLoraBackwardErrors): fused_lora_backward's five products
    // on the re-formed n, dn rounded to the dtype, rms_norm_backward's bound with dn's error.
    const e = normLoraBackwardErrors(i as NormLoraBackwardInputs, o as LoraOpts);
    return {
      dx: boundsOf(i.x!.dtype, ref.dx!.data, (q) => e.eDX[q]),
      dGamma: boundsOf('f32', ref.dGamma!.data, (q) => e.eDG[q]),
      dA: boundsOf('f32', ref.dA!.data, (q) => e.eDA[q]),
      dB: boundsOf('f32', ref.dB!.data, (q) => e.eDB[q]),
    };
  },
  cases: NORM_LORA_BACKWARD_CASES,
  bench: NORM_LORA_BACKWARD_BENCH,
  cost(i) {
    const { k, t, r, n } = loraDims(i.x!, i.loraA!, i.weight!);
    const e = BYTES[i.x!.dtype];
    const acc = i.dAIn ? 2 : 1;
    return {
      flops: 2 * t * n * k + 4 * t * n * r + 4 * t * r * k + 10 * t * k,
      bytes: e * (t * n + t * k + k + n * k + r * k + n * r + t * k) + 4 * (t * r + t + k + acc * (r * k + n * r)),
    };
  },
  gradCheck: {
    forward: 'fused_norm_lora',
    grads: { x: 'dx', gamma: 'dGamma', loraA: 'dA', loraB: 'dB' },
    upstream: { y: 'dy' },
    backwardInputs: (fin, fout, up) => ({ dy: up.y, x: fin.x, gamma: fin.gamma, weight: fin.weight, loraA: fin.loraA, loraB: fin.loraB, rstd: fout.rstd, xa: fout.xa }),
  },
  fuzz: normLoraBackwardFuzz,
});
