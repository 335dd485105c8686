import { ShapeError } from '../../errors.js';
import { fmt } from '../check.js';
import { HEAD_DIM_MAX, HEAD_DIM_STEP } from '../flash_attention_forward/dims.js';
import type { TensorInfo } from '../types.js';

/** At most this many new query tokens per sequence (speculative decoding, chunked prefill tails). */
export const MAX_DECODE_TOKENS = 16;

/**
 * The geometry of a decode step: q [B, T, Hq, D] against a KV cache, contiguous
 * kCache [B, Hkv, Smax, D] / vCache [B, Hkv, Smax, Dv], or paged (blockTable given)
 * kCache [N, blockSize, Hkv, D] / vCache [N, blockSize, Hkv, Dv] with blockTable i32
 * [B, maxBlocks]: key j of sequence b lives in block blockTable[b, ⌊j / blockSize⌋], slot
 * j mod blockSize. lengths i32 [B] counts each sequence's keys (the T new ones included).
 */
export interface DecodeDims {
  readonly batch: number;
  readonly t: number;
  readonly hq: number;
  readonly hkv: number;
  readonly group: number;
  readonly d: number;
  readonly dv: number;
  readonly paged: boolean;
  /** Contiguous: Smax. Paged: blockSize. */
  readonly smax: number;
  readonly blockSize: number;
  readonly numBlocks: number;
  readonly maxBlocks: number;
  /** Keys a sequence can hold: Smax, or maxBlocks·blockSize. */
  readonly capacity: number;
}

/** Element offset of key j's row (kv head kvh) in a cache of head dim `hd` (block = the table entry when paged). */
export function cacheOffset(dm: Pick<DecodeDims, 'paged' | 'blockSize' | 'hkv' | 'smax'>, hd: number, b: number, kvh: number, j: number, block: number): number {
  return dm.paged ? ((block * dm.blockSize + (j % dm.blockSize)) * dm.hkv + kvh) * hd : ((b * dm.hkv + kvh) * dm.smax + j) * hd;
}

export function decodeDims(op: string, q: TensorInfo, k: TensorInfo, v: TensorInfo, lengths: TensorInfo, table?: TensorInfo): DecodeDims {
  // B and T may be 0 (an empty batch: empty outputs, nothing launched); heads and head dims may not.
  if (q.shape.length !== 4 || q.shape.some((x, a) => !Number.isInteger(x) || x < (a >= 2 ? 1 : 0))) throw new ShapeError(`[${op}] q: expected [B, T, Hq, D] (T ≤ ${MAX_DECODE_TOKENS} new tokens per sequence), got ${fmt(q)}`);
  const [batch, t, hq, d] = q.shape;
  if (t > MAX_DECODE_TOKENS) throw new ShapeError(`[${op}] q: expected at most ${MAX_DECODE_TOKENS} query tokens per sequence, got ${fmt(q)}`);
  const paged = !!table;
  const want = paged ? '[numBlocks, blockSize, Hkv, D]' : '[B, Hkv, Smax, D]';
  for (const [name, x] of [['kCache', k], ['vCache', v]] as const) {
    if (x.shape.length !== 4 || x.shape.some((y, a) => !Number.isInteger(y) || y < (!paged && a === 0 ? 0 : 1))) throw new ShapeError(`[${op}] ${name}: expected ${want}${paged ? ' (paged: blockTable given)' : ''}, got ${fmt(x)}`);
  }
  const hkv = paged ? k.shape[2] : k.shape[1];
  const dv = v.shape[3];
  for (const [name, x, t2] of [['q', d, q], ['vCache', dv, v]] as const) {
    if (x % HEAD_DIM_STEP !== 0 || x > HEAD_DIM_MAX) throw new ShapeError(`[${op}] ${name}: expected a head dim that is a multiple of ${HEAD_DIM_STEP} from ${HEAD_DIM_STEP} to ${HEAD_DIM_MAX}, got ${fmt(t2)}`);
  }
  if (k.shape[3] !== d) throw new ShapeError(`[${op}] kCache: expected head dim ${d} (that of q), got ${fmt(k)}`);
  if (hq % hkv !== 0) throw new ShapeError(`[${op}] kCache: expected a kv head count dividing Hq = ${hq}, got ${fmt(k)}`);
  const same = paged ? [k.shape[0], k.shape[1], hkv] : [batch, hkv, k.shape[2]];
  const vHead = paged ? [v.shape[0], v.shape[1], v.shape[2]] : [v.shape[0], v.shape[1], v.shape[2]];
  if (!paged && k.shape[0] !== batch) throw new ShapeError(`[${op}] kCache: expected batch ${batch} (that of q), got ${fmt(k)}`);
  if (vHead.some((x, i) => x !== same[i])) throw new ShapeError(`[${op}] vCache: expected ${v.dtype}[${[...same, dv]}] (the layout of kCache, head dim Dv), got ${fmt(v)}`);
  if (lengths.dtype !== 'i32' || lengths.shape.length !== 1 || lengths.shape[0] !== batch) throw new ShapeError(`[${op}] lengths: expected i32[${batch}], got ${fmt(lengths)}`);
  if (table && (table.dtype !== 'i32' || table.shape.length !== 2 || table.shape[0] !== batch || table.shape[1] < 1)) throw new ShapeError(`[${op}] blockTable: expected i32[${batch}, maxBlocks], got ${fmt(table)}`);
  const blockSize = paged ? k.shape[1] : 0;
  const maxBlocks = paged ? table!.shape[1] : 0;
  return {
    batch,
    t,
    hq,
    hkv,
    group: hq / hkv,
    d,
    dv,
    paged,
    smax: paged ? 0 : k.shape[2],
    blockSize,
    numBlocks: paged ? k.shape[0] : 0,
    maxBlocks,
    capacity: paged ? maxBlocks * blockSize : k.shape[2],
  };
}

/**
 * How the kernels split a sequence's keys (flash-decoding): enough splits to spread a step over
 * the GPU, at most 64, each a whole number of `tile`-key tiles. Splits past a sequence's length
 * find no key (their workgroups return after the sequence check).
 */
export function splitPlan(capacity: number, tile: number): { splits: number; len: number } {
  const n = Math.max(1, Math.min(64, Math.ceil(capacity / 256)));
  const len = Math.ceil(Math.ceil(capacity / n) / tile) * tile;
  return { splits: Math.max(1, Math.ceil(capacity / len)), len };
}
