import type { KernelBackend } from '../backend/interface.js';
import type { FloatDType } from '../dtype.js';
import { OptionsError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { ModelConfig } from './config.js';

/**
 * The keys and values of a batch of sequences, per layer, in decode_attention's contiguous
 * layout [B, Hkv, capacity, D]. `lengths` is the host's count of valid keys per sequence: the
 * positions new tokens are written at and the lengths attention reads. Keys past a length
 * (a shorter prompt's padding) are never read and are overwritten by the next tokens.
 */
export class KvCache {
  readonly layers: readonly { readonly k: Tensor; readonly v: Tensor }[];
  readonly lengths: number[];
  #disposed = false;

  constructor(
    backend: KernelBackend,
    c: ModelConfig,
    readonly batch: number,
    readonly capacity: number,
    readonly dtype: FloatDType,
  ) {
    if (!Number.isInteger(batch) || batch < 1) throw new OptionsError(`[model] cache batch: expected an integer ≥ 1, got ${batch}`);
    if (!Number.isInteger(capacity) || capacity < 1) throw new OptionsError(`[model] cache capacity: expected an integer ≥ 1, got ${capacity}`);
    const shape = [batch, c.numKvHeads, capacity, c.headDim];
    const layers: { k: Tensor; v: Tensor }[] = [];
    try {
      for (let l = 0; l < c.numLayers; l++) layers.push({ k: backend.zeros(shape, dtype), v: backend.zeros(shape, dtype) });
    } catch (e) {
      for (const t of layers) (t.k.dispose(), t.v.dispose());
      throw e;
    }
    this.layers = layers;
    this.lengths = new Array<number>(batch).fill(0);
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
