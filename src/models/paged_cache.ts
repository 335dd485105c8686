import type { KernelBackend } from '../backend/interface.js';
import type { FloatDType } from '../dtype.js';
import { OptionsError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { ModelConfig } from './config.js';

/**
 * A paged KV cache: per layer one pool of blocks [numBlocks, blockSize, Hkv, D] shared by every
 * sequence slot, each slot owning the blocks its length needs (taken from a free list as it
 * grows, all returned by `release`). Many requests of unequal lengths then share memory in
 * proportion to what they hold, not to the longest one. decode_attention and kv_cache_copy
 * read the block table; the host keeps its copy (the ops check positions against it).
 */
export class PagedKvCache {
  readonly layers: readonly { readonly k: Tensor; readonly v: Tensor }[];
  readonly lengths: number[];
  readonly blocks: number[][];
  readonly capacity: number;
  #free: number[];
  #disposed = false;

  constructor(
    backend: KernelBackend,
    c: ModelConfig,
    readonly batch: number,
    readonly numBlocks: number,
    readonly blockSize: number,
    /** Blocks a slot may hold: its capacity is maxBlocks·blockSize tokens. */
    readonly maxBlocks: number,
    readonly dtype: FloatDType,
  ) {
    for (const [name, v] of [['batch', batch], ['numBlocks', numBlocks], ['blockSize', blockSize], ['maxBlocks', maxBlocks]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new OptionsError(`[model] paged cache ${name}: expected an integer ≥ 1, got ${v}`);
    }
    const shape = [numBlocks, blockSize, c.numKvHeads, c.headDim];
    const layers: { k: Tensor; v: Tensor }[] = [];
    try {
      for (let l = 0; l < c.numLayers; l++) layers.push({ k: backend.zeros(shape, dtype), v: backend.zeros(shape, dtype) });
    } catch (e) {
      for (const t of layers) (t.k.dispose(), t.v.dispose());
      throw e;
    }
    this.layers = layers;
    this.lengths = new Array<number>(batch).fill(0);
    this.blocks = Array.from({ length: batch }, () => []);
    this.capacity = maxBlocks * blockSize;
    this.#free = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }

  get freeBlocks(): number {
    return this.#free.length;
  }

  /** Gives each slot the blocks `ends[b]` tokens need; all or nothing (a failure takes none). */
  reserve(ends: readonly number[]): void {
    const need = ends.map((e, b) => Math.max(0, Math.ceil(e / this.blockSize) - this.blocks[b].length));
    ends.forEach((e, b) => {
      if (e > this.capacity) throw new OptionsError(`[model] cache: sequence ${b} would hold ${e} tokens, over the capacity ${this.capacity} (${this.maxBlocks} blocks of ${this.blockSize})`);
    });
    const total = need.reduce((a, n) => a + n, 0);
    if (total > this.#free.length) throw new OptionsError(`[model] paged cache: ${total} more blocks needed, ${this.#free.length} free of ${this.numBlocks}; release finished sequences or make the pool larger`);
    need.forEach((n, b) => {
      for (let i = 0; i < n; i++) this.blocks[b].push(this.#free.pop()!);
    });
  }

  /** Frees slot b's blocks; the slot starts over empty. */
  release(b: number): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.batch) throw new OptionsError(`[model] paged cache release: expected a slot in [0, ${this.batch}), got ${b}`);
    this.#free.push(...this.blocks[b].reverse());
    this.blocks[b] = [];
    this.lengths[b] = 0;
  }

  /** [B, maxBlocks] rows; unused entries point at block 0 (never read: beyond each length). */
  hostBlockTable(): number[][] {
    return this.blocks.map((bl) => [...bl, ...new Array<number>(this.maxBlocks - bl.length).fill(0)]);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const t of this.layers) (t.k.dispose(), t.v.dispose());
  }
}
