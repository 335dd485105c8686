import { FLOAT_DTYPES } from '../../dtype.js';
import { OptionsError, ShapeError } from '../../errors.js';
import { expectDtype, expectSameDtype, fmt, required } from '../check.js';
import { HEAD_DIM_MAX, HEAD_DIM_STEP } from '../flash_attention_forward/dims.js';
import type { Infos, TensorInfo } from '../types.js';
import type { KvCacheCopyOptions } from './options.js';

export type KvIn = 'k' | 'v' | 'kCache' | 'vCache' | 'positions' | 'blockTable';

/**
 * Whose call a check names: kv_cache_copy's own, or an op that writes a cache as it does
 * (fused_norm_qkv's kCache / vCache, its start positions under the name `cachePositions`).
 */
export interface KvNames {
  op: string;
  positions: string;
  hostPositions: string;
}
export const KV_COPY_NAMES: KvNames = { op: 'kv_cache_copy', positions: 'positions', hostPositions: 'hostPositions' };

/**
 * The geometry of a KV-cache write: new k [B, Snew, Hkv, D] and v [B, Snew, Hkv, Dv] into the
 * cache layouts decode_attention reads (src/ops/decode_attention/dims.ts): contiguous
 * kCache [B, Hkv, Smax, D], or paged kCache [numBlocks, blockSize, Hkv, D] with blockTable
 * i32 [B, maxBlocks]. Token t of sequence b goes to position positions[b] + t.
 */
export interface KvCopyDims {
  readonly batch: number;
  readonly snew: number;
  readonly hkv: number;
  readonly d: number;
  readonly dv: number;
  readonly paged: boolean;
  /** Contiguous: Smax (0 when paged). */
  readonly smax: number;
  readonly blockSize: number;
  readonly numBlocks: number;
  readonly maxBlocks: number;
  /** Positions a sequence can hold: Smax, or maxBlocks·blockSize. */
  readonly capacity: number;
}

/** A head dim decode_attention reads (a multiple of HEAD_DIM_STEP up to HEAD_DIM_MAX), else a ShapeError naming `op`'s argument. */
export function expectHeadDim(op: string, name: string, x: number, t: TensorInfo): void {
  if (x % HEAD_DIM_STEP !== 0 || x < HEAD_DIM_STEP || x > HEAD_DIM_MAX) throw new ShapeError(`[${op}] ${name}: expected a head dim that is a multiple of ${HEAD_DIM_STEP} from ${HEAD_DIM_STEP} to ${HEAD_DIM_MAX} (those decode_attention reads), got ${fmt(t)}`);
}

export function kvCopyDims(i: Infos<KvIn>, names: KvNames = KV_COPY_NAMES): KvCopyDims {
  const OP = names.op;
  const headDim = (name: string, x: number, t: TensorInfo) => expectHeadDim(OP, name, x, t);
  const rank4 = (name: string, t: TensorInfo, what: string, nonEmptyFrom: number) => {
    if (t.shape.length !== 4 || t.shape.some((x, i) => !Number.isInteger(x) || x < (i >= nonEmptyFrom ? 1 : 0))) throw new ShapeError(`[${OP}] ${name}: expected ${what}, got ${fmt(t)}`);
  };
  const k = required(OP, 'k', i.k);
  const v = required(OP, 'v', i.v);
  const kc = required(OP, 'kCache', i.kCache);
  const vc = required(OP, 'vCache', i.vCache);
  const pos = required(OP, names.positions, i.positions);
  const table = i.blockTable;
  expectDtype(OP, 'k', k, FLOAT_DTYPES);
  expectSameDtype(OP, 'v', v, k, 'k');
  expectDtype(OP, 'kCache', kc, FLOAT_DTYPES);
  expectSameDtype(OP, 'vCache', vc, kc, 'kCache');
  // B and Snew may be 0 (nothing to write); heads and head dims may not.
  rank4('k', k, '[B, Snew, Hkv, D]', 2);
  const [batch, snew, hkv, d] = k.shape;
  headDim('k', d, k);
  rank4('v', v, `[${batch}, ${snew}, ${hkv}, Dv] (k's B, Snew, Hkv)`, 2);
  if (v.shape[0] !== batch || v.shape[1] !== snew || v.shape[2] !== hkv) throw new ShapeError(`[${OP}] v: expected [${batch}, ${snew}, ${hkv}, Dv] (k's B, Snew, Hkv), got ${fmt(v)}`);
  const dv = v.shape[3];
  headDim('v', dv, v);
  const paged = !!table;
  if (paged) {
    rank4('kCache', kc, `[numBlocks, blockSize, ${hkv}, ${d}] (paged: blockTable given)`, 0);
    if (kc.shape[2] !== hkv || kc.shape[3] !== d) throw new ShapeError(`[${OP}] kCache: expected [numBlocks, blockSize, ${hkv}, ${d}] (paged: blockTable given), got ${fmt(kc)}`);
  } else {
    rank4('kCache', kc, `[${batch}, ${hkv}, Smax, ${d}]`, 1);
    if (kc.shape[0] !== batch || kc.shape[1] !== hkv || kc.shape[3] !== d) throw new ShapeError(`[${OP}] kCache: expected [${batch}, ${hkv}, Smax, ${d}], got ${fmt(kc)}`);
  }
  if (paged ? kc.shape[0] < 1 || kc.shape[1] < 1 : kc.shape[2] < 1) throw new ShapeError(`[${OP}] kCache: expected ${paged ? 'numBlocks, blockSize' : 'Smax'} ≥ 1, got ${fmt(kc)}`);
  const vWant = [kc.shape[0], kc.shape[1], kc.shape[2], dv];
  if (vc.shape.length !== 4 || vc.shape.some((x, j) => x !== vWant[j])) throw new ShapeError(`[${OP}] vCache: expected ${vc.dtype}[${vWant}] (the layout of kCache, head dim Dv), got ${fmt(vc)}`);
  if (pos.dtype !== 'i32' || pos.shape.length !== 1 || pos.shape[0] !== batch) throw new ShapeError(`[${OP}] ${names.positions}: expected i32[${batch}], got ${fmt(pos)}`);
  if (table && (table.dtype !== 'i32' || table.shape.length !== 2 || table.shape[0] !== batch || table.shape[1] < 1)) throw new ShapeError(`[${OP}] blockTable: expected i32[${batch}, maxBlocks], got ${fmt(table)}`);
  const blockSize = paged ? kc.shape[1] : 0;
  const maxBlocks = paged ? table!.shape[1] : 0;
  const capacity = paged ? maxBlocks * blockSize : kc.shape[2];
  if (snew > capacity) throw new ShapeError(`[${OP}] k: expected at most ${capacity} new tokens (the cache's capacity per sequence), got ${fmt(k)}`);
  return { batch, snew, hkv, d, dv, paged, smax: paged ? 0 : kc.shape[2], blockSize, numBlocks: paged ? kc.shape[0] : 0, maxBlocks, capacity };
}

/** The blocks sequence b writes, as table entries [first, last] (none when Snew = 0). */
export const usedEntries = (dm: KvCopyDims, pos: number): [number, number] => [Math.floor(pos / dm.blockSize), Math.floor((pos + dm.snew - 1) / dm.blockSize)];

/** Whether a sequence starting at `pos` fits: 0 ≤ pos ≤ capacity − Snew. */
export const positionValid = (dm: KvCopyDims, pos: number): boolean => pos >= 0 && pos <= dm.capacity - dm.snew;

/** The host copies of positions / the block table, when given: every sequence must be valid (OptionsError naming the first that is not). */
export function checkHostData(dm: KvCopyDims, o: KvCacheCopyOptions, names: KvNames = KV_COPY_NAMES): void {
  const OP = names.op;
  const HP = names.hostPositions;
  const hp = o.hostPositions;
  const ht = o.hostBlockTable;
  if (ht && !dm.paged) throw new OptionsError(`[${OP}] hostBlockTable: only applies to a paged cache (blockTable given), got it for a contiguous one`);
  if (ht && !hp) throw new OptionsError(`[${OP}] hostBlockTable: needs ${HP} too (the positions say which entries are written)`);
  if (!hp) return;
  if (hp.length !== dm.batch) throw new OptionsError(`[${OP}] ${HP}: expected ${dm.batch} positions (one per sequence), got ${hp.length}`);
  if (ht && (ht.length !== dm.batch || ht.some((row) => row.length !== dm.maxBlocks))) throw new OptionsError(`[${OP}] hostBlockTable: expected ${dm.batch} rows of ${dm.maxBlocks} entries (blockTable's shape), got ${ht.length} rows of [${ht.map((r) => r.length)}]`);
  for (let b = 0; b < dm.batch; b++) {
    if (!positionValid(dm, hp[b])) throw new OptionsError(`[${OP}] ${HP}[${b}]: expected a start position in [0, ${dm.capacity - dm.snew}] (capacity ${dm.capacity} − Snew ${dm.snew}), got ${hp[b]}`);
    if (!ht || dm.snew === 0) continue;
    const [e0, e1] = usedEntries(dm, hp[b]);
    for (let x = e0; x <= e1; x++) {
      const e = ht[b][x];
      if (!(e >= 0 && e < dm.numBlocks)) throw new OptionsError(`[${OP}] hostBlockTable[${b}][${x}]: expected a block in [0, ${dm.numBlocks - 1}] (positions ${hp[b]}…${hp[b] + dm.snew - 1} write entries ${e0}…${e1}), got ${e}`);
    }
  }
}
