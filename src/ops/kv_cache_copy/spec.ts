import type { z } from 'zod';
import { BYTES } from '../../dtype.js';
import { defineOp, type Infos } from '../types.js';
import { KV_BENCH, KV_PROBLEMS, kvCase } from './cases.js';
import { checkHostData, kvCopyDims, type KvIn } from './dims.js';
import { kvFuzz } from './fuzz.js';
import { kvCacheCopyOptions, type KvCacheCopyOptions } from './options.js';
import { kvCopyRef, type KvInputs } from './reference.js';

export { kvCacheCopyOptions };
export type KvCacheCopyOptionsInput = z.input<typeof kvCacheCopyOptions>;

const OP = 'kv_cache_copy';

function check(i: Infos<KvIn>, o: KvCacheCopyOptions) {
  const dm = kvCopyDims(i);
  checkHostData(dm, o);
  return dm;
}

export const kvCacheCopy = defineOp({
  name: OP,
  summary:
    'Writes new keys and values [B, Snew, Hkv, D] into a KV cache in place, in either layout decode_attention reads (contiguous ' +
    '[B, Hkv, Smax, D] or paged blocks through a block table), token t of sequence b at position positions[b] + t, converted to the ' +
    "cache's dtype. Positions and block tables are device data, checked there: an invalid sequence writes nothing; host copies " +
    '(options) make it a typed error before any work.',
  inputs: [
    { name: 'k', doc: '[B, Snew, Hkv, D] new keys, any float dtype' },
    { name: 'v', doc: "[B, Snew, Hkv, Dv] new values, k's dtype" },
    { name: 'kCache', doc: 'contiguous [B, Hkv, Smax, D], or paged [numBlocks, blockSize, Hkv, D] (with blockTable); any float dtype; updated in place' },
    { name: 'vCache', doc: "kCache's layout and dtype, head dim Dv; updated in place" },
    { name: 'positions', doc: 'i32 [B]: where each sequence\'s first new token goes; outside [0, capacity − Snew] → that sequence writes nothing' },
    { name: 'blockTable', optional: true, doc: "i32 [B, maxBlocks] (decode_attention's): an entry written through outside the cache → that sequence writes nothing" },
  ],
  outputs: [
    { name: 'kCache', doc: 'the kCache input itself, written' },
    { name: 'vCache', doc: 'the vCache input itself, written' },
  ],
  inPlace: { kCache: 'kCache', vCache: 'vCache' },
  options: kvCacheCopyOptions,
  dtypes: ['f32', 'f16', 'bf16'],
  check(i, o) {
    check(i, o);
    return { kCache: { dtype: i.kCache!.dtype, shape: i.kCache!.shape }, vCache: { dtype: i.vCache!.dtype, shape: i.vCache!.shape } };
  },
  reference(i, o) {
    const dm = check(i, o);
    const r = kvCopyRef(dm, i as KvInputs);
    return { kCache: { dtype: i.kCache!.dtype, shape: i.kCache!.shape, data: r.kCache }, vCache: { dtype: i.vCache!.dtype, shape: i.vCache!.shape, data: r.vCache } };
  },
  bounds(_i, _o, ref) {
    // Exact: each element is k's value rounded once to the cache's dtype (round-to-nearest-
    // even, overflow to ±∞) — WGSL in integer ops (common/convert.wgsl), MSL by IEEE
    // conversion, the reference by the host encoder — or the cache's untouched value.
    return { kCache: new Float64Array(ref.kCache!.data.length), vCache: new Float64Array(ref.vCache!.data.length) };
  },
  cases: KV_PROBLEMS.map(kvCase),
  bench: KV_BENCH,
  cost(i) {
    const dm = kvCopyDims(i);
    // No arithmetic; the new rows read once and written once (in the cache's dtype).
    const rows = dm.batch * dm.snew * dm.hkv * (dm.d + dm.dv);
    return { flops: 0, bytes: rows * (BYTES[i.k!.dtype] + BYTES[i.kCache!.dtype]) + 4 * dm.batch };
  },
  fuzz: kvFuzz,
});
