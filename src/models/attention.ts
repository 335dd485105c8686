import type { KernelBackend } from '../backend/interface.js';
import { envFlag } from '../env_flag.js';
import type { Tensor } from '../tensor.js';
import type { ModelConfig } from './config.js';
import type { KvCache } from './kv_cache.js';
import type { PagedKvCache } from './paged_cache.js';

/**
 * A layer's KV-cache write as fused_norm_qkv's inputs and options (kv_cache_copy's, under
 * that op's names): the op that makes k and v writes them too, and attention skips its copy.
 */
export interface CacheWrite {
  inputs: { kCache: Tensor; vCache: Tensor; cachePositions: Tensor; blockTable?: Tensor };
  options: { hostCachePositions: number[]; hostBlockTable?: number[][] };
}

/**
 * How a layer attends: q [N, Hq, D], k and v [N, Hkv, D] (rope applied) → o [N, Hq, D]. It
 * consumes q, k and v. Two ways: a packed batch with no cache (variable-length flash
 * attention), or B sequences of T new tokens each, written into a KV cache first — by the
 * attend itself, or (`written`) already by whoever made k and v from `cacheWrite(layer)`.
 */
export type Attend = ((q: Tensor, k: Tensor, v: Tensor, layer: number, window: number | null, written?: boolean) => Tensor) & {
  cacheWrite?: (layer: number) => CacheWrite;
};

/**
 * PMETAL_NORM_QKV_CACHE=1|0 (read when a step's attention is set up; default 1): a cached
 * step's fused_norm_qkv also writes k and v into the layer's KV cache (on webgpu inside its
 * decode GEMV: one dispatch a layer fewer); 0 keeps kv_cache_copy as its own call (to time
 * both). Both write the same values.
 */
export function normQkvWritesCache(v = typeof process !== 'undefined' ? process.env.PMETAL_NORM_QKV_CACHE : undefined): boolean {
  return envFlag('model', 'PMETAL_NORM_QKV_CACHE', true, v);
}

// HF's window W lets a query see itself and the W − 1 keys before it.
const windowOf = (w: number | null) => (w !== null ? { window: { left: w - 1 } } : {});

export function packedAttend(b: KernelBackend, cu: Tensor): Attend {
  return (q, k, v, _layer, window) => {
    const a = b.flashAttentionForward({ q, k, v, cuSeqlensQ: cu, cuSeqlensK: cu }, { causal: true, ...windowOf(window) });
    q.dispose();
    k.dispose();
    v.dispose();
    a.lse.dispose();
    return a.o;
  };
}

/** decode_attention reads at most this many new tokens per sequence per call. */
export const DECODE_MAX_NEW = 16;

export interface CacheStep {
  readonly cache: KvCache | PagedKvCache;
  /** Paged caches: i32 [B, maxBlocks] and the host's copy of it. */
  readonly blockTable?: Tensor;
  readonly hostBlockTable?: number[][];
  readonly newTokens: number;
  /** i32 [B]: each sequence's length before this step (where its new keys go). */
  readonly start: Tensor;
  readonly hostStart: readonly number[];
  /** i32 [B]: each sequence's length after this step. */
  readonly end: Tensor;
  /**
   * Every sequence starts empty: attention can read this step's k and v directly
   * (flash attention, any T) instead of the cache (decode attention, T ≤ 16).
   */
  readonly fresh: boolean;
}

export function cachedAttend(b: KernelBackend, c: ModelConfig, s: CacheStep): Attend {
  const B = s.cache.batch;
  const T = s.newTokens;
  const D = c.headDim;
  const table = s.blockTable;
  const attend: Attend = (q, k, v, layer, window, written = false) => {
    const q4 = b.reshape(q, [B, T, c.numHeads, D]);
    const k4 = b.reshape(k, [B, T, c.numKvHeads, D]);
    const v4 = b.reshape(v, [B, T, c.numKvHeads, D]);
    const { k: kCache, v: vCache } = s.cache.layers[layer];
    if (!written) b.kvCacheCopy({ k: k4, v: v4, kCache, vCache, positions: s.start, blockTable: table }, { hostPositions: [...s.hostStart], ...(table ? { hostBlockTable: s.hostBlockTable } : {}) });
    const a = s.fresh
      ? b.flashAttentionForward({ q: q4, k: k4, v: v4 }, { causal: true, ...windowOf(window) })
      : b.decodeAttention({ q: q4, kCache, vCache, lengths: s.end, blockTable: table }, windowOf(window));
    q4.dispose();
    k4.dispose();
    v4.dispose();
    a.lse.dispose();
    return b.reshape(a.o, [B * T, c.numHeads, D]);
  };
  if (normQkvWritesCache()) {
    attend.cacheWrite = (layer) => {
      const { k: kCache, v: vCache } = s.cache.layers[layer];
      return {
        inputs: { kCache, vCache, cachePositions: s.start, ...(table ? { blockTable: table } : {}) },
        options: { hostCachePositions: [...s.hostStart], ...(table ? { hostBlockTable: s.hostBlockTable } : {}) },
      };
    };
  }
  return attend;
}
