import { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { OptionsError } from '../../errors.js';
import { expectDtype, expectNonEmptyAxis, expectRank, required } from '../check.js';
import { defineOp, type TensorInfo } from '../types.js';
import { EMB_FORWARD_BENCH, EMB_FORWARD_CASES } from './cases.js';
import { embeddingRef } from './reference.js';
import { embeddingFuzz } from './fuzz.js';

/**
 * paddingIdx (PyTorch's padding_idx; negative counts from the end): the forward gathers
 * that row like any other (as PyTorch does); embedding_backward gives it no gradient.
 */
export const embeddingOptions = z.object({ paddingIdx: z.number().int().optional() }).strict();
export type EmbeddingOptions = z.input<typeof embeddingOptions>;

/** ids: i32 of any leading shape (rank 1 to 4). */
export function checkIds(op: string, ids: TensorInfo | undefined): TensorInfo {
  const t = required(op, 'ids', ids);
  expectRank(op, 'ids', t, [1, 2, 3, 4], 'i32 token ids of rank 1 to 4');
  expectDtype(op, 'ids', t, ['i32']);
  return t;
}

/** paddingIdx must name a row of a V-row vocabulary: [-V, V). */
export function checkPadding(op: string, paddingIdx: number | undefined, v: number): void {
  if (paddingIdx !== undefined && (paddingIdx < -v || paddingIdx >= v)) {
    throw new OptionsError(`[${op}] paddingIdx: expected an integer in [${-v}, ${v}) for a vocabulary of ${v} rows, got ${paddingIdx}`);
  }
}

export const embedding = defineOp({
  name: 'embedding',
  summary:
    'Embedding lookup: y[..., :] = weight[ids[...], :]. An id outside [0, V) gives a zero row and is counted in `invalid` (ids are device data: never an out-of-bounds read).',
  inputs: [
    { name: 'weight', doc: '[V, H] f32/f16/bf16' },
    { name: 'ids', doc: 'i32 token ids of any leading shape (rank 1 to 4)' },
  ],
  outputs: [
    { name: 'y', doc: '[...ids.shape, H], dtype of weight' },
    { name: 'invalid', doc: 'i32 [1]: how many ids were outside [0, V) (their rows are zero)' },
  ],
  options: embeddingOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const op = 'embedding';
    const w = required(op, 'weight', i.weight);
    expectRank(op, 'weight', w, [2], '[V, H]');
    expectDtype(op, 'weight', w, FLOAT_DTYPES);
    // With H = 0 the rows are empty but `invalid` still counts the ids: a kernel over rows of
    // nothing. An error naming the axis, as cross_entropy's V = 0; V = 0 is fine (every id invalid).
    expectNonEmptyAxis(op, 'weight', w, 1, 'the embedding size H');
    const ids = checkIds(op, i.ids);
    checkPadding(op, o.paddingIdx, w.shape[0]);
    return { y: { dtype: w.dtype, shape: [...ids.shape, w.shape[1]] }, invalid: { dtype: 'i32', shape: [1] } };
  },
  // No ids: y is empty and none of them is invalid (a count over nothing is 0).
  emptyResult(i) {
    return i.ids!.shape.includes(0) ? { invalid: 0 } : undefined;
  },
  reference(i) {
    const w = i.weight!;
    const ids = i.ids!;
    const r = embeddingRef(w, ids);
    return { y: { dtype: w.dtype, shape: [...ids.shape, w.shape[1]], data: r.y }, invalid: { dtype: 'i32', shape: [1], data: Float64Array.of(r.invalid) } };
  },
  bounds(_i, _o, ref) {
    // A gather moves bits: every element is exact (the kernels copy words, never convert),
    // and the count is an integer.
    return { y: new Float64Array(ref.y!.data.length), invalid: new Float64Array(1) };
  },
  cases: EMB_FORWARD_CASES,
  bench: EMB_FORWARD_BENCH,
  cost(i) {
    const t = i.ids!.shape.reduce((a, b) => a * b, 1);
    const h = i.weight!.shape[1];
    // Each looked-up row read once, each output row written once, the ids read (twice: the
    // gather and the count).
    return { flops: 0, bytes: 2 * t * h * BYTES[i.weight!.dtype] + 8 * t + 4 };
  },
  fuzz: embeddingFuzz,
});
