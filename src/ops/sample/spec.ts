import { z } from 'zod';
import { BYTES, FLOAT_DTYPES, type DType } from '../../dtype.js';
import { DTypeError, ShapeError } from '../../errors.js';
import { expectDtype, expectRank, fmt, required } from '../check.js';
import { boundsOf } from '../tolerance.js';
import { defineOp, type TensorInfo } from '../types.js';
import { SAMPLE_BENCH, SAMPLE_CASES } from './cases.js';
import { sampleFuzz } from './fuzz.js';
import { logprobBound, logprobErrors, sampleRef } from './reference.js';

/**
 * The sampler's definition — what makes every backend pick the same token for a seed, tested
 * by exact equality (GPU float functions differ between devices, so no decision may rest on
 * one):
 *
 * 1. Processed logits z (weights.ts processLogit): x + bias; for a token with count > 0 the
 *    repetition penalty (z·r if z < 0, else z·fl(1/r)) and z − (frequency·count + presence);
 *    then z·fl(1/T). Each step is one correctly rounded f32 operation, flushed to 0 below
 *    2^-125; 1/r and 1/T are correctly rounded (the kernels divide in integers) and r, T are
 *    clamped to [2^-100, 2^100]. NaN counts as −∞. T ≤ 0 (or NaN) is greedy: no temperature.
 * 2. The order: z descending, then id ascending (ties to the lowest id), on a 32-bit key.
 * 3. Weights: w = W(fl(z_max − z)) ≈ 2^31·e^(z − z_max), integer (weights.ts weightOf): the
 *    top token weighs 2^31, tokens more than ~21.5 below it 0. Sums are exact 64-bit integers.
 * 4. Filters, each a prefix of the order, in Hugging Face's order; the shortest wins:
 *    top-k (1 ≤ k < V) the first k; top-p (p < 1) within the top-k set, the first tokens up to
 *    the one whose inclusive prefix weight reaches max(1, ceil(W_k·P/2^24)), P = floor(p·2^24)
 *    (HF's "drop a token once the mass before it is ≥ p"); min-p (> 0) every token with
 *    w ≥ floor(min(p, 1)·2^24)·128 (p_i ≥ min_p·p_max).
 * 5. The draw: u = philox4x32_10((offset, 0, 0, 0), (seed0, seed1)).x, target =
 *    floor(u·W_kept/2^32); the token is the kept one (in id order) whose inclusive prefix of
 *    weights first exceeds the target. A row whose logits are all −∞ gives −1.
 * 6. Log-probabilities z_j − lse (lse over all processed logits, before the filters) are
 *    floats, compared within a derived bound; a +∞ logit makes them NaN.
 */
export const sampleOptions = z
  .object({
    /** Also return the n most likely tokens of each row and their log-probabilities (0–20). */
    topLogprobs: z.number().int().min(0).max(20).default(0),
    /**
     * Whether some sampled row may have no top-k (the default). false, when every row is greedy
     * or has 1 ≤ top-k < V, lets a backend skip the pass such rows need (webgpu's weight bins: one
     * dispatch of ⌈V/4096⌉·B workgroups); a row that has none anyway still gets its token, the
     * same one, by the slower full-vocabulary path.
     */
    rowsWithoutTopK: z.boolean().default(true),
  })
  .strict();
export type SampleOpOptions = z.input<typeof sampleOptions>;

const OP = 'sample';
/** The largest vocabulary: counts and tie ranks are exact in f32 and u32 up to here. */
export const MAX_VOCAB = 2 ** 24;

/** Per-row tensors: name, dtype, and whether it is [B] or [B, V]. */
const ROW_INPUTS: [string, DType, 'row' | 'vocab'][] = [
  ['offsets', 'u32', 'row'],
  ['temperature', 'f32', 'row'],
  ['topK', 'i32', 'row'],
  ['topP', 'f32', 'row'],
  ['minP', 'f32', 'row'],
  ['repetitionPenalty', 'f32', 'row'],
  ['presencePenalty', 'f32', 'row'],
  ['frequencyPenalty', 'f32', 'row'],
  ['counts', 'i32', 'vocab'],
  ['logitBias', 'f32', 'vocab'],
];

function dims(i: Record<string, TensorInfo | undefined>, o: { topLogprobs: number }) {
  const x = required(OP, 'logits', i.logits);
  expectRank(OP, 'logits', x, [2], '[B, V]');
  expectDtype(OP, 'logits', x, FLOAT_DTYPES);
  const [b, v] = x.shape;
  if (v > MAX_VOCAB) throw new ShapeError(`[${OP}] logits: expected a vocabulary of at most ${MAX_VOCAB}, got ${fmt(x)}`);
  if (o.topLogprobs > v) throw new ShapeError(`[${OP}] logits: topLogprobs=${o.topLogprobs} needs at least that many tokens, got ${fmt(x)}`);
  const s = required(OP, 'seeds', i.seeds);
  const want = (t: TensorInfo, name: string, dtype: DType, shape: number[]) => {
    const same = t.shape.length === shape.length && t.shape.every((d, k) => d === shape[k]);
    if (!same || t.dtype !== dtype) throw new (same ? DTypeError : ShapeError)(`[${OP}] ${name}: expected ${dtype}[${shape.join(',')}], got ${fmt(t)}`);
  };
  want(s, 'seeds', 'u32', [b, 2]);
  for (const [name, dtype, kind] of ROW_INPUTS) {
    const t = i[name];
    if (t) want(t, name, dtype, kind === 'row' ? [b] : [b, v]);
  }
  const pen = ['repetitionPenalty', 'presencePenalty', 'frequencyPenalty'].find((n) => i[n]);
  if (pen && !i.counts) throw new ShapeError(`[${OP}] counts: required with ${pen} (i32 [${b},${v}]: how often each token occurred), got none`);
  return { b, v };
}

export const sample = defineOp({
  name: OP,
  summary:
    'Token sampling over [B, V] logits with per-row temperature (0 = greedy), top-k, top-p, min-p, repetition/presence/frequency penalties and logit bias; ' +
    'Philox-4x32-10 randomness from per-row seeds, integer weights so every backend picks the same token; returns token ids, their log-probabilities and optionally the top-n.',
  inputs: [
    { name: 'logits', doc: '[B, V] f32/f16/bf16' },
    { name: 'seeds', doc: 'u32 [B, 2]: each row\'s Philox key' },
    { name: 'offsets', optional: true, doc: 'u32 [B]: each row\'s Philox counter (the step), default 0' },
    { name: 'temperature', optional: true, doc: 'f32 [B], default 1; ≤ 0 (or NaN) is greedy' },
    { name: 'topK', optional: true, doc: 'i32 [B]; ≤ 0 or ≥ V keeps all' },
    { name: 'topP', optional: true, doc: 'f32 [B]; ≥ 1 keeps all' },
    { name: 'minP', optional: true, doc: 'f32 [B]; ≤ 0 keeps all' },
    { name: 'repetitionPenalty', optional: true, doc: 'f32 [B] (Hugging Face), 1 = none; needs counts' },
    { name: 'presencePenalty', optional: true, doc: 'f32 [B] (OpenAI), 0 = none; needs counts' },
    { name: 'frequencyPenalty', optional: true, doc: 'f32 [B] (OpenAI), 0 = none; needs counts' },
    { name: 'counts', optional: true, doc: 'i32 [B, V]: occurrences of each token so far (prompt and output)' },
    { name: 'logitBias', optional: true, doc: 'f32 [B, V] added to the logits (−∞ bans a token)' },
  ],
  outputs: [
    { name: 'tokens', doc: 'i32 [B]: the chosen id (−1 when every logit is −∞ or NaN)' },
    { name: 'logprobs', doc: 'f32 [B]: its log-probability under the processed distribution (bias, penalties, temperature; before top-k/p, min-p)' },
    { name: 'topIds', optional: true, doc: 'i32 [B, n] (topLogprobs = n > 0): the n most likely ids, ties to the lowest id' },
    { name: 'topLogprobs', optional: true, doc: 'f32 [B, n]: their log-probabilities' },
  ],
  options: sampleOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const { b } = dims(i as Record<string, TensorInfo | undefined>, o);
    const n = o.topLogprobs;
    return {
      tokens: { dtype: 'i32', shape: [b] },
      logprobs: { dtype: 'f32', shape: [b] },
      ...(n > 0 ? { topIds: { dtype: 'i32' as const, shape: [b, n] }, topLogprobs: { dtype: 'f32' as const, shape: [b, n] } } : {}),
    };
  },
  reference(i, o) {
    const r = sampleRef(i, o);
    const n = o.topLogprobs;
    return {
      tokens: { dtype: 'i32', shape: [r.rows], data: r.tokens },
      logprobs: { dtype: 'f32', shape: [r.rows], data: r.logprobs },
      ...(n > 0 ? { topIds: { dtype: 'i32' as const, shape: [r.rows, n], data: r.topIds }, topLogprobs: { dtype: 'f32' as const, shape: [r.rows, n], data: r.topLogprobs } } : {}),
    };
  },
  bounds(i, o, ref) {
    // Token ids are exact by construction (integer weights, exact comparisons): bound 0.
    // A log-probability z_j − lse: the lse of the processed logits (the cross-entropy
    // forward's algorithm and bound, on exact inputs) and the subtraction; logprobErrors.
    const r = sampleRef(i, o);
    const e = logprobErrors(r.z, r.lse, r.rows, r.v);
    const n = o.topLogprobs;
    return {
      tokens: new Float64Array(r.rows),
      logprobs: boundsOf('f32', ref.logprobs!.data, (j) => logprobBound(e[j], ref.logprobs!.data[j])),
      ...(n > 0 ? { topIds: new Float64Array(r.rows * n), topLogprobs: boundsOf('f32', ref.topLogprobs!.data, (j) => logprobBound(e[Math.floor(j / n)], ref.topLogprobs!.data[j])) } : {}),
    };
  },
  cases: SAMPLE_CASES,
  bench: SAMPLE_BENCH,
  cost(i) {
    const x = i.logits!;
    const [b, v] = x.shape;
    const extra = (i.counts ? 4 : 0) + (i.logitBias ? 4 : 0);
    // The logits once, the f32 keys written once and read by the selection passes (counted once).
    return { flops: 10 * b * v, bytes: b * v * (BYTES[x.dtype] + extra + 8) };
  },
  fuzz: sampleFuzz,
});
