import { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { ShapeError } from '../../errors.js';
import { expectDtype, expectRank, expectShape, finite, fmt, required } from '../check.js';
import { boundsOf } from '../tolerance.js';
import { defineOp } from '../types.js';
import { ADAMW_BENCH, ADAMW_CASES } from './cases.js';
import { MAX_DEVICE_STEP, adamwErrors, adamwRef, type AdamwInputs, type AdamwOpts } from './reference.js';
import { adamwFuzz } from './fuzz.js';

/**
 * PyTorch's torch.optim.AdamW hyperparameters (2.5 docs, defaults included; amsgrad and
 * maximize are not offered). `step` is the step being taken (1 for the first: bias
 * corrections 1 − β^step); `maxGradNorm` clips the gradients by their global norm first, as
 * torch.nn.utils.clip_grad_norm_ (factor min(maxGradNorm / (norm + 1e-6), 1)), on the GPU in
 * the same submission. A device `scalars` input overrides lr and step. `inPlace`: params, m, v
 * (and master) are updated in their own storage and returned as the same Tensors, as
 * PyTorch's optimizers update in place — a training loop then keeps its buffers (and so its
 * bind groups and launch tapes) from step to step; a skipped step leaves them untouched.
 */
export const fusedAdamwStepOptions = z
  .object({
    lr: finite().min(0).default(1e-3),
    beta1: finite().min(0).lt(1).default(0.9),
    beta2: finite().min(0).lt(1).default(0.999),
    eps: finite().positive().default(1e-8),
    weightDecay: finite().min(0).default(1e-2),
    step: z.number().int().min(1).max(MAX_DEVICE_STEP).default(1),
    maxGradNorm: finite().positive().optional(),
    inPlace: z.boolean().default(false),
  })
  .strict();
export type FusedAdamwStepOptions = z.input<typeof fusedAdamwStepOptions>;

const OP = 'fused_adamw_step';

export const fusedAdamwStep = defineOp({
  name: OP,
  summary:
    'One AdamW step (PyTorch 2.5 torch.optim.AdamW) over a whole parameter list laid out flat, in a fixed few dispatches: global-norm clipping and the found-inf check on the GPU (any non-finite gradient skips the step and sets `flag`), per-segment lr / weight-decay scales, f16/bf16 params with f32 master weights. Bitwise deterministic. An empty parameter list is a no-op (flag 0, gradNorm 0), as in PyTorch.',
  inputs: [
    { name: 'params', doc: '[...] f32, or f16/bf16 (then only the model copy: the new params are the new master rounded)' },
    { name: 'grads', doc: 'shape of params, dtype of params or f32' },
    { name: 'm', doc: 'f32 first moments, shape of params' },
    { name: 'v', doc: 'f32 second moments' },
    { name: 'master', optional: true, doc: 'f32 master weights: required for f16/bf16 params, not allowed for f32' },
    { name: 'segments', optional: true, doc: 'i32 [n+1] offsets of the n tensors of the list (0 … P), with groups' },
    { name: 'groups', optional: true, doc: 'f32 [n, 2]: (lrScale, wdScale) of each segment (param groups: e.g. no decay on norms)' },
    { name: 'scalars', optional: true, doc: 'f32 [2] = (lr, step) on the device: overrides the options (a schedule without host values)' },
    { name: 'flag', optional: true, doc: "i32 [1]: flags of earlier calls; the `flag` output is then this tensor, updated in place to its value | this call's bits (one read for a step over many tensors; only this call's bits skip this call)" },
    { name: 'normSq', optional: true, doc: "f32 [1]: Σg² of the whole parameter list when this call updates only part of it (a list kept as separate tensors, one call each): gradNorm and maxGradNorm's clip factor come from it instead of this call's gradients, so every call clips by the same global norm with no host read-back (torch.nn.utils.clip_grad_norm_ over all of them); a non-finite value sets flag bit 1" },
  ],
  outputs: [
    { name: 'params', doc: 'updated params (dtype of params; the input itself with inPlace)' },
    { name: 'master', optional: true, doc: 'updated f32 master weights (when given; the input itself with inPlace)' },
    { name: 'm', doc: 'updated f32 first moments (the input itself with inPlace)' },
    { name: 'v', doc: 'updated f32 second moments (the input itself with inPlace)' },
    { name: 'flag', doc: 'i32 [1]: 0, or bits 1 (non-finite gradient), 2 (bad segment table or group scale), 4 (bad device lr/step); the step was skipped. OR-ed into the `flag` input when given' },
    { name: 'gradNorm', doc: 'f32 [1]: the global L2 norm of the gradients before clipping (√normSq when given)' },
  ],
  options: fusedAdamwStepOptions,
  dtypes: FLOAT_DTYPES,
  check(i) {
    const p = required(OP, 'params', i.params);
    expectRank(OP, 'params', p, [1, 2, 3, 4], 'a flat parameter list (rank 1 to 4)');
    expectDtype(OP, 'params', p, FLOAT_DTYPES);
    const g = required(OP, 'grads', i.grads);
    expectDtype(OP, 'grads', g, p.dtype === 'f32' ? ['f32'] : [p.dtype, 'f32']);
    expectShape(OP, 'grads', g, p.shape);
    expectShape(OP, 'm', required(OP, 'm', i.m), p.shape, 'f32');
    expectShape(OP, 'v', required(OP, 'v', i.v), p.shape, 'f32');
    if (p.dtype === 'f32' && i.master) throw new ShapeError(`[${OP}] master: f32 params are their own master weights; expected none, got ${fmt(i.master)}`);
    if (p.dtype !== 'f32') expectShape(OP, 'master', required(OP, 'master', i.master), p.shape, 'f32');
    if (!!i.segments !== !!i.groups) {
      throw new ShapeError(`[${OP}] ${i.segments ? 'groups' : 'segments'}: segments and groups come together (offsets and per-segment scales), got only ${i.segments ? 'segments' : 'groups'}`);
    }
    if (i.segments) {
      expectRank(OP, 'segments', i.segments, [1], 'i32 [n+1] offsets');
      expectDtype(OP, 'segments', i.segments, ['i32']);
      const n = i.segments.shape[0] - 1;
      if (n < 1) throw new ShapeError(`[${OP}] segments: expected i32[n+1] with n ≥ 1, got ${fmt(i.segments)}`);
      expectShape(OP, 'groups', i.groups!, [n, 2], 'f32');
    }
    if (i.scalars) expectShape(OP, 'scalars', i.scalars, [2], 'f32');
    if (i.flag) expectShape(OP, 'flag', i.flag, [1], 'i32');
    if (i.normSq) expectShape(OP, 'normSq', i.normSq, [1], 'f32');
    return {
      params: { dtype: p.dtype, shape: p.shape },
      ...(i.master ? { master: { dtype: 'f32', shape: p.shape } } : {}),
      m: { dtype: 'f32', shape: p.shape },
      v: { dtype: 'f32', shape: p.shape },
      flag: { dtype: 'i32', shape: [1] },
      gradNorm: { dtype: 'f32', shape: [1] },
    };
  },
  // In place (the option): the state tensors themselves; an accumulated flag whenever given.
  // Aliasing among them (the same tensor as params and m) is refused by the framework (base.ts).
  inPlace: (i, o) => ({
    ...(o.inPlace ? { params: 'params', m: 'm', v: 'v', ...(i.master ? { master: 'master' } : {}) } : {}),
    ...(i.flag ? { flag: 'flag' } : {}),
  }),
  // An empty parameter list is a no-op, as PyTorch's AdamW over no parameters: nothing to
  // update or skip (flag 0), the norm of no gradients is 0; segments, groups and scalars are
  // not read (they describe no element).
  emptyResult(i) {
    return i.params!.shape.includes(0) ? { flag: 0, gradNorm: 0 } : undefined;
  },
  reference(i, o) {
    const r = adamwRef(i as AdamwInputs, o as AdamwOpts);
    const shape = i.params!.shape;
    // Skipped in place: nothing is written, so 16-bit params stay as they were (out of place
    // they are the master rounded, like every other output a copy of its input).
    const p = r.flags && o.inPlace ? i.params!.data : r.p;
    const flag = (i.flag ? i.flag.data[0] : 0) | r.flags;
    return {
      params: { dtype: i.params!.dtype, shape, data: p },
      ...(i.master ? { master: { dtype: 'f32', shape, data: r.p } } : {}),
      m: { dtype: 'f32', shape, data: r.m },
      v: { dtype: 'f32', shape, data: r.v },
      flag: { dtype: 'i32', shape: [1], data: Float64Array.of(flag) },
      gradNorm: { dtype: 'f32', shape: [1], data: Float64Array.of(r.norm) },
    };
  },
  bounds(i, o, ref) {
    // The derivation is in reference.ts (adamwErrors): f32 arithmetic of every operation,
    // the global norm's P-term sum, the host constants' rounding to f32, the device-step
    // powers; then the rounding to each output's dtype.
    const { err } = adamwErrors(i as AdamwInputs, o as AdamwOpts);
    return {
      params: boundsOf(i.params!.dtype, ref.params!.data, (k) => err.p[k]),
      ...(ref.master ? { master: boundsOf('f32', ref.master.data, (k) => err.p[k]) } : {}),
      m: boundsOf('f32', ref.m!.data, (k) => err.m[k]),
      v: boundsOf('f32', ref.v!.data, (k) => err.v[k]),
      flag: new Float64Array(1),
      gradNorm: boundsOf('f32', ref.gradNorm!.data, () => err.norm),
    };
  },
  cases: ADAMW_CASES,
  bench: ADAMW_BENCH,
  cost(i) {
    const p = i.params!;
    const size = p.shape.reduce((a, b) => a * b, 1);
    const ge = BYTES[i.grads!.dtype];
    // Read: master (or f32 params), grads, m, v; written: the same three f32 and, with master
    // weights, the 16-bit params. The gradient pre-pass (norm, found-inf) reads grads again:
    // counted as overhead, not as bytes that must move.
    const bytes = size * (4 + ge + 8 + 12 + (i.master ? BYTES[p.dtype] : 0));
    return { flops: 20 * size, bytes };
  },
  fuzz: adamwFuzz,
});
