import type { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { expectDtype, expectSameDtype, expectShape, required } from '../check.js';
import type { Infos, TensorInfo } from '../types.js';
import { defineOp } from '../types.js';
import { attentionForwardBounds } from './bounds.js';
import { ATTN_PROBLEMS, attnBench, attnCase, problemInputs } from './cases.js';
import { attnDims, type AttnDims } from './dims.js';
import { attentionFwdFuzz } from './fuzz.js';
import { attentionOptions, type AttentionOptions } from './options.js';
import { attentionForwardRef } from './reference.js';

export const flashAttentionForwardOptions = attentionOptions;
export type FlashAttentionForwardOptions = z.input<typeof flashAttentionForwardOptions>;

type In = 'q' | 'k' | 'v' | 'sinks' | 'cuSeqlensQ' | 'cuSeqlensK';

/** Checks q, k, v, sinks and the cu_seqlens of any attention op; returns the geometry. */
export function checkAttention(op: string, i: Infos<In>, o: AttentionOptions): AttnDims {
  const q = required(op, 'q', i.q);
  const k = required(op, 'k', i.k);
  const v = required(op, 'v', i.v);
  expectDtype(op, 'q', q, FLOAT_DTYPES);
  expectSameDtype(op, 'k', k, q, 'q');
  expectSameDtype(op, 'v', v, q, 'q');
  const dm = attnDims(op, o.layout, q, k, v, i.cuSeqlensQ, i.cuSeqlensK);
  if (i.sinks) expectShape(op, 'sinks', i.sinks, [dm.hq], 'f32');
  return dm;
}

/** Σ over rows of visible keys, for the cost: causal counts half (varlen: as equal-length sequences). */
export function attnCost(dm: AttnDims, o: AttentionOptions, q: TensorInfo, passes: number) {
  const pairs = (dm.varlen ? (dm.sq * dm.sk) / dm.batch : dm.batch * dm.sq * dm.sk) * dm.hq * (o.causal ? 0.5 : 1);
  const e = BYTES[q.dtype];
  const elems = dm.batch === 0 ? 0 : (dm.varlen ? 1 : dm.batch) * (dm.sq * dm.hq * (dm.d + dm.dv) + dm.sk * dm.hkv * (dm.d + dm.dv));
  return { flops: passes * pairs * (dm.d + dm.dv), bytes: elems * e + dm.hq * dm.sq * (dm.varlen ? 1 : dm.batch) * 4 };
}

export const flashAttentionForward = defineOp({
  name: 'flash_attention_forward',
  summary:
    'Scaled dot-product attention without materialising [Sq, Sk]: causal (bottom-right) and sliding-window masks, logit softcap, ' +
    'attention sinks, GQA/MQA, Dv ≠ D, padded or variable-length batches; o in the dtype of q and the f32 log-sum-exp per row.',
  inputs: [
    { name: 'q', doc: "[B, Sq, Hq, D] ('bshd') or [B, Hq, Sq, D] ('bhsd'); varlen: [totalQ, Hq, D] / [Hq, totalQ, D]. D a multiple of 8, ≤ 256" },
    { name: 'k', doc: 'the layout of q with Sk keys and Hkv heads (Hq a multiple of Hkv), dtype of q' },
    { name: 'v', doc: 'the shape of k with head dim Dv (a multiple of 8, ≤ 256), dtype of q' },
    { name: 'sinks', optional: true, doc: 'f32 [Hq]: one logit per query head that joins the softmax denominator only (gpt-oss)' },
    { name: 'cuSeqlensQ', optional: true, doc: 'i32 [batch+1]: sequence b owns packed query tokens cu[b]..cu[b+1]−1 (with cuSeqlensK)' },
    { name: 'cuSeqlensK', optional: true, doc: 'i32 [batch+1]: the key tokens of each sequence' },
  ],
  outputs: [
    { name: 'o', doc: 'the layout of q with head dim Dv, dtype of q; a row that sees no key is 0' },
    { name: 'lse', doc: 'f32 [B, Hq, Sq] (varlen [Hq, totalQ]): natural-log sum of exp of the row\'s logits (and sink); −∞ for a row that sees no key' },
  ],
  options: flashAttentionForwardOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const dm = checkAttention('flash_attention_forward', i, o);
    return { o: { dtype: i.q!.dtype, shape: dm.oShape }, lse: { dtype: 'f32', shape: dm.lseShape } };
  },
  reference(i, o) {
    const dm = attnDims('flash_attention_forward', o.layout, i.q!, i.k!, i.v!, i.cuSeqlensQ, i.cuSeqlensK);
    const r = attentionForwardRef({ q: i.q!, k: i.k!, v: i.v!, sinks: i.sinks, cuSeqlensQ: i.cuSeqlensQ, cuSeqlensK: i.cuSeqlensK }, o, dm);
    return { o: { dtype: i.q!.dtype, shape: dm.oShape, data: r.o }, lse: { dtype: 'f32', shape: dm.lseShape, data: r.lse } };
  },
  bounds(i, o, ref) {
    // The derivation is in bounds.ts (attentionForwardBounds).
    const dm = attnDims('flash_attention_forward', o.layout, i.q!, i.k!, i.v!, i.cuSeqlensQ, i.cuSeqlensK);
    const r = attentionForwardRef({ q: i.q!, k: i.k!, v: i.v!, sinks: i.sinks, cuSeqlensQ: i.cuSeqlensQ, cuSeqlensK: i.cuSeqlensK }, o, dm);
    return attentionForwardBounds({ q: i.q!, k: i.k!, v: i.v!, sinks: i.sinks }, o, dm, r.lay, { o: ref.o!.data, lse: ref.lse!.data });
  },
  cases: ATTN_PROBLEMS.map(attnCase),
  bench: attnBench(problemInputs),
  cost(i, o) {
    const dm = attnDims('flash_attention_forward', o.layout, i.q!, i.k!, i.v!, i.cuSeqlensQ, i.cuSeqlensK);
    return attnCost(dm, o, i.q!, 2);
  },
  fuzz: attentionFwdFuzz,
});
