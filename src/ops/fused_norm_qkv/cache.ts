import { OptionsError, ShapeError } from '../../errors.js';
import { fmt } from '../check.js';
import { checkHostData, expectHeadDim, kvCopyDims, type KvCopyDims, type KvNames } from '../kv_cache_copy/dims.js';
import { kvCopyRef } from '../kv_cache_copy/reference.js';
import { toDtype } from '../tolerance.js';
import type { RefTensor, TensorInfo } from '../types.js';
import { OP } from './check.js';
import type { NormQkvOpts } from './options.js';

/**
 * fused_norm_qkv's KV-cache write: with kCache, vCache and cachePositions the op also writes
 * its k (rope applied) and v rows into the caches exactly as kv_cache_copy would write them
 * — k and v seen as [B, Snew, Hkv, D] with B = cachePositions' length and Snew = T / B, token s
 * of sequence b (row b·Snew + s) at position cachePositions[b] + s, either cache layout, the
 * cache's dtype — so a decode step spends no dispatch of its own on the write. The checks,
 * the device-side rule (an invalid sequence writes nothing) and the host copies are
 * kv_cache_copy's, under this op's argument names.
 */
export const CACHE_NAMES: KvNames = { op: OP, positions: 'cachePositions', hostPositions: 'hostCachePositions' };

/** The cache inputs by name. */
export const CACHE_INPUTS = ['kCache', 'vCache', 'cachePositions'] as const;

/**
 * The write's geometry, or undefined when no cache is given. Hkv and the head dims come from
 * the caches (kCache [B, Hkv, Smax, D] or paged [blocks, blockSize, Hkv, D]); they must
 * account for every column of k and v (Nk = Hkv·D, Nv = Hkv·Dv: wk's and wv's rows) and agree
 * with heads.kv. Shapes only (launchers call it on every step); the op's check adds the host
 * copies' check (normQkvCacheCheck).
 */
export function normQkvCacheDims(i: Record<string, TensorInfo | undefined>, o: NormQkvOpts): KvCopyDims | undefined {
  const given = CACHE_INPUTS.filter((n) => i[n]);
  if (given.length === 0) {
    if (i.blockTable) throw new OptionsError(`[${OP}] blockTable: given without kCache (it would be ignored); expected a block table only with a paged cache write`);
    if (o.hostCachePositions || o.hostBlockTable) throw new OptionsError(`[${OP}] ${o.hostCachePositions ? 'hostCachePositions' : 'hostBlockTable'}: given without kCache (it would be ignored); expected host copies only with a cache write`);
    return undefined;
  }
  if (given.length !== CACHE_INPUTS.length) {
    const missing = CACHE_INPUTS.filter((n) => !i[n]);
    throw new ShapeError(`[${OP}] ${missing[0]}: required with ${given.join(', ')} (a cache write takes kCache, vCache and cachePositions), got none`);
  }
  const t = i.x!.shape[0];
  const nk = i.wk!.shape[0];
  const nv = i.wv!.shape[0];
  const kc = i.kCache!;
  const vc = i.vCache!;
  const pos = i.cachePositions!;
  const paged = !!i.blockTable;
  const layout = paged ? '[numBlocks, blockSize, Hkv, D]' : '[B, Hkv, Smax, D]';
  if (kc.shape.length !== 4) throw new ShapeError(`[${OP}] kCache: expected ${layout}, got ${fmt(kc)}`);
  if (vc.shape.length !== 4) throw new ShapeError(`[${OP}] vCache: expected kCache's layout with head dim Dv, got ${fmt(vc)}`);
  const hkv = paged ? kc.shape[2] : kc.shape[1];
  const d = kc.shape[3];
  const dv = vc.shape[3];
  expectHeadDim(OP, 'kCache', d, kc);
  expectHeadDim(OP, 'vCache', dv, vc);
  if (hkv * d !== nk) throw new ShapeError(`[${OP}] kCache: expected ${layout} with Hkv·D = Nk = ${nk} (wk's rows), got ${fmt(kc)}`);
  if (hkv * dv !== nv) throw new ShapeError(`[${OP}] vCache: expected Hkv·Dv = Nv = ${nv} (wv's rows) with kCache's Hkv = ${hkv}, got ${fmt(vc)}`);
  if (o.heads && o.heads.kv !== hkv) throw new ShapeError(`[${OP}] kCache: expected heads.kv = ${o.heads.kv} kv heads, got ${fmt(kc)} (${hkv})`);
  if (pos.dtype !== 'i32' || pos.shape.length !== 1) throw new ShapeError(`[${OP}] cachePositions: expected i32[B], got ${fmt(pos)}`);
  const b = pos.shape[0];
  if (b === 0 ? t !== 0 : t % b !== 0) throw new ShapeError(`[${OP}] x: expected T a multiple of B = ${b} (cachePositions' length: B sequences of T / B new tokens), got T = ${t}`);
  const snew = b === 0 ? 0 : t / b;
  const dt = i.x!.dtype;
  return kvCopyDims({ k: { dtype: dt, shape: [b, snew, hkv, d] }, v: { dtype: dt, shape: [b, snew, hkv, dv] }, kCache: kc, vCache: vc, positions: pos, blockTable: i.blockTable }, CACHE_NAMES);
}

/** The op's check of a cache write: its geometry, and every host-copied start and table entry in range (kv_cache_copy's rule). */
export function normQkvCacheCheck(i: Record<string, TensorInfo | undefined>, o: NormQkvOpts): KvCopyDims | undefined {
  const dm = normQkvCacheDims(i, o);
  if (dm) checkHostData(dm, { hostPositions: o.hostCachePositions, hostBlockTable: o.hostBlockTable }, CACHE_NAMES);
  return dm;
}

/** The caches' inputs as kv_cache_copy's reference reads them, with k and v replaced by `kData` / `vData`. */
function copyInputs(dm: KvCopyDims, i: Record<string, RefTensor | undefined>, kData: Float64Array, vData: Float64Array, kc: Float64Array, vc: Float64Array) {
  const dt = i.x!.dtype;
  return {
    k: { dtype: dt, shape: [dm.batch, dm.snew, dm.hkv, dm.d], data: kData },
    v: { dtype: dt, shape: [dm.batch, dm.snew, dm.hkv, dm.dv], data: vData },
    kCache: { ...i.kCache!, data: kc },
    vCache: { ...i.vCache!, data: vc },
    positions: i.cachePositions!,
    ...(i.blockTable ? { blockTable: i.blockTable } : {}),
  };
}

/** The caches after the write, in float64: k and v exact (the op's references), unrounded. */
export function normQkvCacheRef(dm: KvCopyDims, i: Record<string, RefTensor | undefined>, k: Float64Array, v: Float64Array) {
  return kvCopyRef(dm, copyInputs(dm, i, k, v, i.kCache!.data, i.vCache!.data), false);
}

/** Whether every `from` value converts to `to` exactly (f32 holds f16 and bf16; f16 and bf16 hold neither). */
const holds = (to: string, from: string) => to === from || to === 'f32';

/**
 * Bounds of the caches: an element the op writes holds k's (or v's) value as stored in x's
 * dtype, converted once to the cache's dtype — k's bound where that conversion is exact,
 * else that bound carried through one more rounding (toDtype); every other element keeps its
 * input value exactly (bound 0, so a stray write fails).
 */
export function normQkvCacheBounds(dm: KvCopyDims, i: Record<string, RefTensor | undefined>, ref: { kCache: Float64Array; vCache: Float64Array }, errK: Float64Array, errV: Float64Array) {
  const n = (t: RefTensor) => new Float64Array(t.data.length);
  const e = kvCopyRef(dm, copyInputs(dm, i, errK, errV, n(i.kCache!), n(i.vCache!)), false);
  // Which elements are written: ones placed by the same map.
  const ones = (len: number) => new Float64Array(len).fill(1);
  const w = kvCopyRef(dm, copyInputs(dm, i, ones(errK.length), ones(errV.length), n(i.kCache!), n(i.vCache!)), false);
  const cdt = i.kCache!.dtype;
  const exact = holds(cdt, i.x!.dtype);
  const fin = (b: Float64Array, written: Float64Array, r: Float64Array) => b.map((x, j) => (written[j] === 0 ? 0 : exact ? x : toDtype(cdt, r[j], x)));
  return { kCache: fin(e.kCache, w.kCache, ref.kCache), vCache: fin(e.vCache, w.vCache, ref.vCache) };
}
