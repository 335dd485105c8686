import type { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { expectDtype, expectSameDtype, expectShape, required } from '../check.js';
import { U32, boundsOf, gamma } from '../tolerance.js';
import { RESCALE_SLACK } from '../flash_attention_forward/bounds.js';
import { defineOp, type Infos } from '../types.js';
import { DECODE_BENCH, DECODE_PROBLEMS, decodeCase } from './cases.js';
import { decodeDims, type DecodeDims } from './dims.js';
import { decodeFuzz } from './fuzz.js';
import { decodeOptions } from './options.js';
import { decodeRef, type DecodeInputs } from './reference.js';

export const decodeAttentionOptions = decodeOptions;
export type DecodeAttentionOptions = z.input<typeof decodeAttentionOptions>;

const OP = 'decode_attention';
type In = 'q' | 'kCache' | 'vCache' | 'lengths' | 'blockTable' | 'sinks';

export function checkDecode(i: Infos<In>): DecodeDims {
  const q = required(OP, 'q', i.q);
  const k = required(OP, 'kCache', i.kCache);
  const v = required(OP, 'vCache', i.vCache);
  expectDtype(OP, 'q', q, FLOAT_DTYPES);
  expectSameDtype(OP, 'kCache', k, q, 'q');
  expectSameDtype(OP, 'vCache', v, q, 'q');
  const dm = decodeDims(OP, q, k, v, required(OP, 'lengths', i.lengths), i.blockTable);
  if (i.sinks) expectShape(OP, 'sinks', i.sinks, [dm.hq], 'f32');
  return dm;
}

export const decodeAttention = defineOp({
  name: OP,
  summary:
    'Attention of 1–16 new query tokens per sequence against a KV cache (contiguous, or paged through a block table), ' +
    'causal at each query\'s position, sliding window, softcap, sinks, GQA/MQA; the keys are split over workgroups and the ' +
    'partial softmaxes combined by a second pass (flash-decoding). Lengths and block tables are device data, checked there.',
  inputs: [
    { name: 'q', doc: '[B, T, Hq, D], T ≤ 16 new tokens per sequence (the last T keys of each sequence)' },
    { name: 'kCache', doc: 'contiguous [B, Hkv, Smax, D], or paged [numBlocks, blockSize, Hkv, D] (with blockTable); dtype of q' },
    { name: 'vCache', doc: 'the layout of kCache with head dim Dv' },
    { name: 'lengths', doc: 'i32 [B]: keys of each sequence, the T new ones included; outside [0, capacity] → NaN' },
    { name: 'blockTable', optional: true, doc: 'i32 [B, maxBlocks]: the cache block of each blockSize keys; a used entry outside the cache → NaN' },
    { name: 'sinks', optional: true, doc: 'f32 [Hq], as flash_attention_forward' },
  ],
  outputs: [
    { name: 'o', doc: '[B, T, Hq, Dv], dtype of q' },
    { name: 'lse', doc: 'f32 [B, Hq, T]' },
  ],
  options: decodeAttentionOptions,
  dtypes: FLOAT_DTYPES,
  check(i) {
    const dm = checkDecode(i);
    return { o: { dtype: i.q!.dtype, shape: [dm.batch, dm.t, dm.hq, dm.dv] }, lse: { dtype: 'f32', shape: [dm.batch, dm.hq, dm.t] } };
  },
  reference(i, o) {
    const dm = checkDecode(i);
    const r = decodeRef(dm, i as DecodeInputs, o, false);
    return { o: { dtype: i.q!.dtype, shape: [dm.batch, dm.t, dm.hq, dm.dv], data: r.o }, lse: { dtype: 'f32', shape: [dm.batch, dm.hq, dm.t], data: r.lse } };
  },
  bounds(i, o, ref) {
    // Each sequence's bound is flash_attention_forward's (src/ops/flash_attention_forward/
    // bounds.ts) with the split-and-combine terms (splitCombine). A sequence of length 0 is
    // o = 0 exactly and lse = −∞, or with a sink lse = sink + log(1): the log's 2^-21, one
    // rescale's 6 + 6 + 15τ ulps (ρ of the sink) and the add.
    const dm = checkDecode(i);
    const r = decodeRef(dm, i as DecodeInputs, o, true);
    const lse = ref.lse!.data;
    for (let b = 0; b < dm.batch; b++) {
      if (i.lengths!.data[b] !== 0 || !i.sinks) continue;
      for (let x = b * dm.hq * dm.t; x < (b + 1) * dm.hq * dm.t; x++) r.bounds.lse[x] = boundsOf('f32', Float64Array.of(lse[x]), () => (12 + 15 * RESCALE_SLACK) * U32 + gamma(2) + 2 ** -21 + U32 * Math.abs(lse[x]))[0];
    }
    return r.bounds;
  },
  cases: DECODE_PROBLEMS.map(decodeCase),
  bench: DECODE_BENCH,
  cost(i) {
    const dm = checkDecode(i);
    // At most every cached key per query (the lengths are device data): 2(D + Dv) flops a
    // pair; bytes: the caches' used part once (taken as full), q and o.
    const e = BYTES[i.q!.dtype];
    const keys = dm.batch * dm.capacity;
    return { flops: 2 * keys * dm.t * dm.hq * (dm.d + dm.dv), bytes: keys * dm.hkv * (dm.d + dm.dv) * e + dm.batch * dm.t * dm.hq * (dm.d + dm.dv) * e };
  },
  fuzz: decodeFuzz,
});
