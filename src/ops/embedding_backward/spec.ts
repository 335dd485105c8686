import { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { OptionsError, ShapeError } from '../../errors.js';
import { expectDtype, expectRank, expectShape, fmt, required } from '../check.js';
import { boundsOf, gamma } from '../tolerance.js';
import { defineOp } from '../types.js';
import { EMB_BACKWARD_BENCH, EMB_BACKWARD_CASES } from '../embedding/cases.js';
import { embeddingBackwardRef } from '../embedding/reference.js';
import { checkIds, checkPadding } from '../embedding/spec.js';
import { embeddingBackwardFuzz } from '../embedding/fuzz.js';

/**
 * numEmbeddings: V, the rows of dW (PyTorch's num_weights); needed unless dwIn gives it.
 * paddingIdx: that row gets no gradient (negative counts from the end).
 */
export const embeddingBackwardOptions = z
  .object({
    numEmbeddings: z.number().int().min(1).max(2 ** 31 - 1).optional(),
    paddingIdx: z.number().int().optional(),
  })
  .strict();
export type EmbeddingBackwardOptions = z.input<typeof embeddingBackwardOptions>;

const OP = 'embedding_backward';

export const embeddingBackward = defineOp({
  name: OP,
  summary:
    'Weight gradient of embedding: dW[v] = dwIn[v] + Σ_{t: ids[t] = v} dy[t] in f32, summed in token order (deterministic, no float atomics); the padding row and ids outside [0, V) get nothing.',
  inputs: [
    { name: 'dy', doc: '[...ids.shape, H] upstream gradient, f32/f16/bf16' },
    { name: 'ids', doc: 'i32, the forward ids' },
    { name: 'dwIn', optional: true, doc: 'f32 [V, H]: a gradient to add into (accumulation over micro-batches)' },
  ],
  outputs: [{ name: 'dw', doc: 'f32 [V, H]' }],
  options: embeddingBackwardOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const dy = required(OP, 'dy', i.dy);
    expectRank(OP, 'dy', dy, [2, 3, 4, 5], '[...ids.shape, H]');
    expectDtype(OP, 'dy', dy, FLOAT_DTYPES);
    const ids = checkIds(OP, i.ids);
    const lead = dy.shape.slice(0, -1);
    if (ids.shape.length !== lead.length || ids.shape.some((d, k) => d !== lead[k])) {
      throw new ShapeError(`[${OP}] ids: expected i32[${lead.join(',')}] (the leading dims of dy ${fmt(dy)}), got ${fmt(ids)}`);
    }
    const h = dy.shape[dy.shape.length - 1];
    let v = o.numEmbeddings;
    if (i.dwIn) {
      expectRank(OP, 'dwIn', i.dwIn, [2], `f32[V,${h}]`);
      v ??= i.dwIn.shape[0];
      expectShape(OP, 'dwIn', i.dwIn, [v, h], 'f32');
    }
    if (v === undefined) throw new OptionsError(`[${OP}] numEmbeddings: required when dwIn is not given (the rows of dW), got none`);
    checkPadding(OP, o.paddingIdx, v);
    return { dw: { dtype: 'f32', shape: [v, h] } };
  },
  // No tokens: dW is the sum over none, 0, added to dwIn when given.
  emptyResult(i) {
    if (!i.ids!.shape.includes(0)) return undefined;
    return { dw: i.dwIn ? { input: 'dwIn' } : 0 };
  },
  reference(i, o) {
    const dy = i.dy!;
    const h = dy.shape[dy.shape.length - 1];
    const v = i.dwIn ? i.dwIn.shape[0] : o.numEmbeddings!;
    const r = embeddingBackwardRef(dy, i.ids!, v, o.paddingIdx, i.dwIn);
    return { dw: { dtype: 'f32', shape: [v, h], data: r.dw } };
  },
  bounds(i, o, ref) {
    // Row v of dW is a sum, in token order, of the dy rows of its c_v tokens (exact in f32:
    // dy is f32 or converted exactly from f16/bf16) onto dwIn or 0: c_v f32 additions, so
    // |error| ≤ γ_{c_v}·Σ|terms|. Rows no token names are copied or zero: exact.
    const dy = i.dy!;
    const h = dy.shape[dy.shape.length - 1];
    const v = i.dwIn ? i.dwIn.shape[0] : o.numEmbeddings!;
    const r = embeddingBackwardRef(dy, i.ids!, v, o.paddingIdx, i.dwIn);
    return { dw: boundsOf('f32', ref.dw!.data, (k) => gamma(r.terms[Math.floor(k / h)]) * r.mag[k]) };
  },
  cases: EMB_BACKWARD_CASES,
  bench: EMB_BACKWARD_BENCH,
  cost(i, o) {
    const dy = i.dy!;
    const h = dy.shape[dy.shape.length - 1];
    const t = dy.shape.reduce((a, b) => a * b, 1) / h;
    const v = i.dwIn ? i.dwIn.shape[0] : o.numEmbeddings!;
    // dW written once (and dwIn read once), each dy row read once, the ids.
    return { flops: t * h, bytes: v * h * 4 * (i.dwIn ? 2 : 1) + t * h * BYTES[dy.dtype] + 8 * t };
  },
  gradCheck: {
    forward: 'embedding',
    grads: { weight: 'dw' },
    upstream: { y: 'dy' },
    // The padding row's gradient is zero by definition, not the derivative of the forward.
    applies: (c) => c.options.paddingIdx === undefined,
    backwardInputs: (fin, _fout, up) => {
      const [v, h] = fin.weight.shape;
      return { dy: up.y, ids: fin.ids, dwIn: { dtype: 'f32', shape: [v, h], data: new Float64Array(v * h) } };
    },
  },
  fuzz: embeddingBackwardFuzz,
});
