import type { KernelBackend } from '../backend/interface.js';
import type { FloatDType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { packSequences, type PackedBatch } from './batch.js';
import type { ModelConfig } from './config.js';
import { convertFloat } from './convert.js';
import { decoderLayer } from './layer.js';
import { disposeWeights, type ModelWeights } from './weights.js';

/**
 * A Llama-family decoder (llama, qwen2, qwen3, mistral — the differences live in the config)
 * built from KernelBackend calls only, so it runs on every backend. Sequences are packed
 * without padding (variable-length attention), so a batch of different lengths costs its
 * tokens and nothing more.
 */
export class LlamaModel {
  #disposed = false;

  constructor(
    readonly config: ModelConfig,
    readonly backend: KernelBackend,
    private readonly weights: ModelWeights,
    /** The float dtype of the weights and activations on the backend. */
    readonly dtype: FloatDType,
  ) {}

  /** The frozen weights on the backend, for code that runs its own passes over them (LoRA training, src/models/train/); still the model's to dispose. */
  get parameters(): ModelWeights {
    return this.weights;
  }

  /** Records the forward pass of a packed batch; returns logits [T, vocab] in the compute dtype (the caller disposes it). */
  forwardPacked(batch: PackedBatch): Tensor {
    const b = this.backend;
    const c = this.config;
    const T = batch.ids.length;
    const ids = b.tensor(batch.ids, [T], 'i32');
    const positions = b.tensor(batch.positions, [T], 'i32');
    const cu = b.tensor(batch.cu, [batch.cu.length], 'i32');
    const emb = b.embedding({ weight: this.weights.embed, ids });
    ids.dispose();
    emb.invalid.dispose(); // ids were checked on the host by packSequences
    let h = emb.y;
    c.layerWindows.forEach((window, l) => {
      const next = decoderLayer(b, c, this.weights.layers[l], window, h, { positions, cu, tokens: T });
      h.dispose();
      h = next;
    });
    positions.dispose();
    cu.dispose();
    const n = b.rmsNorm({ x: h, weight: this.weights.finalNorm }, { eps: c.rmsNormEps });
    h.dispose();
    n.rstd.dispose();
    const logits = b.gemm({ a: n.y, b: this.weights.lmHead }, { transB: true }).y;
    n.y.dispose();
    return logits;
  }

  /** Logits of every position of every sequence: one f32 array [S_b × vocab] per sequence. */
  async forward(seqs: readonly (readonly number[] | Int32Array)[]): Promise<Float32Array[]> {
    const batch = packSequences(seqs, this.config.vocabSize);
    const logits = this.forwardPacked(batch);
    try {
      const all = convertFloat(this.dtype, 'f32', await this.backend.read(logits)) as Float32Array;
      const V = this.config.vocabSize;
      return batch.lengths.map((_, i) => all.slice(batch.cu[i] * V, batch.cu[i + 1] * V));
    } finally {
      logits.dispose();
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    disposeWeights(this.weights);
  }
}
