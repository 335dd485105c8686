import type { z } from 'zod';
import { expectShape, required } from '../check.js';
import { defineOp } from '../types.js';
import { checkAttention, attnCost } from '../flash_attention_forward/spec.js';
import { attnDims } from '../flash_attention_forward/dims.js';
import { attentionOptions } from '../flash_attention_forward/options.js';
import { attentionBackwardBounds } from './bounds.js';
import { BWD_BENCH, BWD_CASES } from './cases.js';
import { attentionBwdFuzz } from './fuzz.js';
import { attentionBackwardRef, type BwdInputs } from './reference.js';

/** The forward call's options (they must match it). */
export const flashAttentionBackwardOptions = attentionOptions;
export type FlashAttentionBackwardOptions = z.input<typeof flashAttentionBackwardOptions>;

const OP = 'flash_attention_backward';

export const flashAttentionBackward = defineOp({
  name: OP,
  summary:
    'Gradients of flash_attention_forward (FlashAttention-2: P recomputed from the forward lse, D = dO·o), deterministic: ' +
    'dk/dv per key block over the query blocks, dq per query block over the key blocks, dsinks by a fixed-order reduction.',
  inputs: [
    { name: 'q', doc: 'as the forward' },
    { name: 'k', doc: 'as the forward' },
    { name: 'v', doc: 'as the forward' },
    { name: 'o', doc: 'the forward output (layout of q, head dim Dv, dtype of q)' },
    { name: 'dO', doc: 'the upstream gradient of o (shape and dtype of o)' },
    { name: 'lse', doc: 'f32, the forward lse' },
    { name: 'sinks', optional: true, doc: 'f32 [Hq], as the forward' },
    { name: 'cuSeqlensQ', optional: true, doc: 'i32 [batch+1], as the forward' },
    { name: 'cuSeqlensK', optional: true, doc: 'i32 [batch+1], as the forward' },
  ],
  outputs: [
    { name: 'dq', doc: 'shape and dtype of q' },
    { name: 'dk', doc: 'shape and dtype of k (summed over the query heads of each kv head)' },
    { name: 'dv', doc: 'shape and dtype of v' },
    { name: 'dsinks', optional: true, doc: 'f32 [Hq], only with sinks' },
  ],
  options: flashAttentionBackwardOptions,
  dtypes: ['f32', 'f16', 'bf16'],
  check(i, o) {
    const dm = checkAttention(OP, i, o);
    const q = i.q!;
    expectShape(OP, 'o', required(OP, 'o', i.o), dm.oShape, q.dtype);
    expectShape(OP, 'dO', required(OP, 'dO', i.dO), dm.oShape, q.dtype);
    expectShape(OP, 'lse', required(OP, 'lse', i.lse), dm.lseShape, 'f32');
    return {
      dq: { dtype: q.dtype, shape: q.shape },
      dk: { dtype: q.dtype, shape: i.k!.shape },
      dv: { dtype: q.dtype, shape: i.v!.shape },
      ...(i.sinks ? { dsinks: { dtype: 'f32' as const, shape: [dm.hq] } } : {}),
    };
  },
  reference(i, o) {
    const dm = attnDims(OP, o.layout, i.q!, i.k!, i.v!, i.cuSeqlensQ, i.cuSeqlensK);
    const r = attentionBackwardRef(i as BwdInputs, o, dm);
    const dt = i.q!.dtype;
    return {
      dq: { dtype: dt, shape: i.q!.shape, data: r.dq },
      dk: { dtype: dt, shape: i.k!.shape, data: r.dk },
      dv: { dtype: dt, shape: i.v!.shape, data: r.dv },
      ...(r.dsinks ? { dsinks: { dtype: 'f32' as const, shape: [dm.hq], data: r.dsinks } } : {}),
    };
  },
  bounds(i, o, ref) {
    // The derivation is in bounds.ts (attentionBackwardBounds).
    const dm = attnDims(OP, o.layout, i.q!, i.k!, i.v!, i.cuSeqlensQ, i.cuSeqlensK);
    const r = attentionBackwardRef(i as BwdInputs, o, dm);
    return attentionBackwardBounds(i as BwdInputs, o, dm, r.lay, { dq: ref.dq!.data, dk: ref.dk!.data, dv: ref.dv!.data, dsinks: ref.dsinks?.data });
  },
  emptyResult(i, o) {
    // No query row (B = 0, Sq = 0, or no packed query tokens): nothing flows back — dk, dv
    // and dsinks are 0, as PyTorch's autograd gives them; nothing is launched (so varlen
    // cu_seqlens are not read).
    const dm = attnDims(OP, o.layout, i.q!, i.k!, i.v!, i.cuSeqlensQ, i.cuSeqlensK);
    return (dm.varlen ? dm.sq : dm.batch * dm.sq) === 0 ? { dk: 0, dv: 0, dsinks: 0 } : undefined;
  },
  cases: BWD_CASES,
  bench: BWD_BENCH,
  cost(i, o) {
    const dm = attnDims(OP, o.layout, i.q!, i.k!, i.v!, i.cuSeqlensQ, i.cuSeqlensK);
    // Per visible pair: Q·Kᵀ again, dO·Vᵀ, Pᵀ·dO, dS·K, dSᵀ·Q (2(3D + 2Dv) flops); q, k, v, o, dO
    // read and dq, dk, dv written once (the forward's cost counts q, k, v, o).
    const f = attnCost(dm, o, i.q!, 1);
    const pairs = f.flops / (dm.d + dm.dv);
    return { flops: 2 * pairs * (3 * dm.d + 2 * dm.dv), bytes: 2 * f.bytes };
  },
  gradCheck: {
    forward: 'flash_attention_forward',
    grads: { q: 'dq', k: 'dk', v: 'dv', sinks: 'dsinks' },
    upstream: { o: 'dO' },
    // Malformed cu_seqlens have no derivative (NaN); the long cases are left to the kernels'
    // checks (each finite difference is two float64 forwards).
    applies: (c) => !!c.quick && !c.label.startsWith('cuQ='),
    backwardInputs: (fin, fout, up) => ({ ...fin, o: fout.o, lse: fout.lse, dO: up.o }),
  },
  fuzz: attentionBwdFuzz,
});
