import type { KernelBackend } from '../backend/interface.js';
import type { FloatDType } from '../dtype.js';
import { BackendMismatchError, DTypeError, OptionsError, ShapeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { cachedAttend, DECODE_MAX_NEW, packedAttend, type Attend } from './attention.js';
import { packSequences } from './batch.js';
import type { ModelConfig } from './config.js';
import { convertFloat } from './convert.js';
import { generate, generateBatch, type GenerateOptions } from './generate.js';
import { KvCache } from './kv_cache.js';
import { PagedKvCache } from './paged_cache.js';

/** Either KV cache layout decode_attention reads. */
export type ModelCache = KvCache | PagedKvCache;
import { addNorm, decoderLayer, type Stream } from './layer.js';
import { applyLinear } from './linear.js';
import { disposeWeights, type ModelWeights } from './weights.js';

/**
 * A Llama-family decoder (llama, qwen2, qwen3, mistral — the differences live in the config)
 * built from KernelBackend calls only, so it runs on every backend. Without a cache,
 * sequences are packed without padding (variable-length attention); with one, a step feeds
 * B sequences T new tokens each through kv_cache_copy and decode_attention.
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

  /** Embedding → layers → final norm of N tokens (ids and positions i32 [N], the caller's); returns the normalised hidden states [N, H]. */
  #body(idT: Tensor, posT: Tensor, attend: Attend): Tensor {
    const b = this.backend;
    const c = this.config;
    const N = idT.size;
    const emb = b.embedding({ weight: this.weights.embed, ids: idT });
    // Host ids are checked before any call; device ids (decodeLogits) cannot be, and an
    // out-of-range one gets a zero row, which only its own sequence's logits see.
    emb.invalid.dispose();
    let stream: Stream = { delta: emb.y };
    for (let l = 0; l < c.numLayers; l++) stream = decoderLayer(b, c, l, this.weights.layers[l], stream, { positions: posT, tokens: N, attend, dtype: this.dtype });
    const n = addNorm(b, stream, this.weights.finalNorm, c.rmsNormEps);
    n.h.dispose();
    return n.y;
  }

  #lmHead(x: Tensor): Tensor {
    const logits = applyLinear(this.backend, x, this.weights.lmHead, this.dtype);
    x.dispose();
    return logits;
  }

  async #readF32(t: Tensor): Promise<Float32Array> {
    try {
      return convertFloat(this.dtype, 'f32', await this.backend.read(t)) as Float32Array;
    } finally {
      t.dispose();
    }
  }

  /** Logits of every position of every sequence: one f32 array [S_b × vocab] per sequence. */
  async forward(seqs: readonly (readonly number[] | Int32Array)[]): Promise<Float32Array[]> {
    this.#live();
    const batch = packSequences(seqs, this.config.vocabSize);
    const b = this.backend;
    const N = batch.ids.length;
    const cu = b.tensor(batch.cu, [batch.cu.length], 'i32');
    const idT = b.tensor(batch.ids, [N], 'i32');
    const posT = b.tensor(batch.positions, [N], 'i32');
    let hidden: Tensor;
    try {
      hidden = this.#body(idT, posT, packedAttend(b, cu));
    } finally {
      cu.dispose();
      idT.dispose();
      posT.dispose();
    }
    const all = await this.#readF32(this.#lmHead(hidden));
    const V = this.config.vocabSize;
    return batch.lengths.map((_, i) => all.slice(batch.cu[i] * V, batch.cu[i + 1] * V));
  }

  /**
   * A paged KV cache: `batch` sequence slots sharing `numBlocks` blocks of `blockSize` tokens,
   * at most `maxBlocks` per slot; `release(slot)` returns a finished sequence's blocks.
   */
  createPagedCache(batch: number, o: { numBlocks: number; blockSize: number; maxBlocks: number }): PagedKvCache {
    this.#live();
    return new PagedKvCache(this.backend, this.config, batch, o.numBlocks, o.blockSize, o.maxBlocks, this.dtype);
  }

  /** A KV cache for `batch` sequences of up to `capacity` tokens, in the model's dtype. */
  createCache(batch: number, capacity: number): KvCache {
    this.#live();
    return new KvCache(this.backend, this.config, batch, capacity, this.dtype);
  }

  /**
   * Feeds the prompts of a fresh cache (one per sequence, lengths may differ: shorter ones
   * are right-padded, and causal attention keeps the padding out of every real token's view;
   * the cache records the real lengths, so the padding is overwritten by the next tokens).
   * Returns the logits of each prompt's last token.
   */
  async prefill(prompts: readonly (readonly number[] | Int32Array)[], cache: ModelCache): Promise<Float32Array[]> {
    return this.#rows(await this.#readF32(this.prefillLogits(prompts, cache)), prompts.length);
  }

  /** prefill, leaving the logits [B, vocab] on the backend (the caller disposes them). */
  prefillLogits(prompts: readonly (readonly number[] | Int32Array)[], cache: ModelCache): Tensor {
    this.#checkCache(cache, prompts.length);
    if (cache.lengths.some((n) => n !== 0)) throw new OptionsError('[model] prefill: expected a fresh cache (every length 0); continue a sequence with step()');
    const batch = packSequences(prompts, this.config.vocabSize);
    const T = Math.max(...batch.lengths);
    const rows = prompts.map((p) => [...p, ...new Array<number>(T - p.length).fill(0)]);
    return this.#step(rows, cache, true, batch.lengths);
  }

  /**
   * Appends T new tokens to every sequence (the same T for all: a decode step is T = 1) and
   * returns the logits of each sequence's last new token. More than 16 new tokens are fed in
   * chunks of 16 (decode_attention's limit).
   */
  async step(tokens: readonly (readonly number[] | Int32Array)[], cache: ModelCache): Promise<Float32Array[]> {
    return this.#rows(await this.#readF32(this.stepLogits(tokens, cache)), tokens.length);
  }

  /** step, leaving the logits [B, vocab] on the backend (the caller disposes them). */
  stepLogits(tokens: readonly (readonly number[] | Int32Array)[], cache: ModelCache): Tensor {
    this.#checkCache(cache, tokens.length);
    const T = tokens[0]?.length ?? 0;
    if (tokens.some((t) => t.length !== T)) throw new OptionsError(`[model] step: expected the same number of new tokens for every sequence, got ${tokens.map((t) => t.length).join(', ')}`);
    packSequences(tokens, this.config.vocabSize); // token checks
    const end = cache.lengths.map((n) => n + T);
    const over = end.findIndex((e) => e > cache.capacity);
    if (over >= 0) throw new OptionsError(`[model] cache: sequence ${over} would hold ${end[over]} tokens, over the capacity ${cache.capacity}`);
    // Every block the whole step needs, before the first chunk runs: no half-done step.
    if (cache instanceof PagedKvCache) cache.reserve(end);
    let out: Tensor | undefined;
    for (let s = 0; s < T; s += DECODE_MAX_NEW) {
      const chunk = tokens.map((t) => Array.from(t.slice(s, s + DECODE_MAX_NEW)));
      out?.dispose();
      out = this.#step(chunk, cache, false, chunk.map((c) => c.length));
    }
    return out!;
  }

  /**
   * One decode step whose new token ids are already on the backend: `ids` i32 [B], one per
   * sequence (the `sample` op's tokens of the step before), so generation needs no host
   * round trip between steps. Positions and the cache's lengths follow on the host (every
   * sequence gains exactly one token). The ids cannot be checked on the host: one outside
   * [0, vocab) (sample's −1) gets a zero embedding row, and only its own sequence's logits
   * are meaningless. Returns the logits [B, vocab] (the caller disposes them; `ids` stays theirs).
   */
  decodeLogits(ids: Tensor, cache: ModelCache): Tensor {
    this.#checkCache(cache, cache?.batch);
    this.#checkIds('decode ids', ids, cache.batch);
    return this.#step(ids, cache, false, new Array<number>(cache.batch).fill(1));
  }

  /**
   * decodeLogits with the cache positions already on the backend: `start` and `end` i32 [B],
   * each sequence's length before and after this step. Nothing of the step comes from the host,
   * so a step graph can replay it (decode_graph.ts writes start/end before each replay); the
   * host's cache.lengths are the caller's to advance. Contiguous caches only; positions are
   * checked on the device (kv_cache_copy writes nothing for a sequence whose slot is outside
   * the cache) and, for this call, against the host lengths.
   */
  decodeLogitsAt(ids: Tensor, cache: KvCache, start: Tensor, end: Tensor): Tensor {
    this.#checkCache(cache, cache?.batch);
    if (!(cache instanceof KvCache)) throw new OptionsError('[model] decodeLogitsAt: expected a contiguous KvCache (createCache())');
    this.#checkIds('decode ids', ids, cache.batch);
    this.#checkIds('decode start', start, cache.batch);
    this.#checkIds('decode end', end, cache.batch);
    const hostStart = [...cache.lengths];
    const over = hostStart.findIndex((n) => n + 1 > cache.capacity);
    if (over >= 0) throw new OptionsError(`[model] cache: sequence ${over} would hold ${hostStart[over] + 1} tokens, over the capacity ${cache.capacity}`);
    const hidden = this.#body(ids, start, cachedAttend(this.backend, this.config, { cache, newTokens: 1, start, hostStart, end, fresh: false }));
    return this.#lmHead(hidden);
  }

  #checkIds(what: string, ids: Tensor, batch: number): void {
    if (!(ids instanceof Tensor) || ids.disposed) throw new OptionsError(`[model] ${what}: expected a live i32[${batch}] Tensor, got ${ids instanceof Tensor ? ids.toString() : typeof ids}`);
    if ((ids.owner as unknown) !== this.backend) throw new BackendMismatchError(`[model] ${what}: tensor belongs to backend ${ids.backendName}, not the model's ${this.backend.name}`);
    if (ids.dtype !== 'i32') throw new DTypeError(`[model] ${what}: expected i32[${batch}], got ${ids.describe()}`);
    if (ids.shape.length !== 1 || ids.shape[0] !== batch) throw new ShapeError(`[model] ${what}: expected i32[${batch}] (one per sequence of the cache), got ${ids.describe()}`);
  }

  /** Tokens of one prompt, drawn on the backend by `sample` over the KV cache; stops after EOS or maxNewTokens. */
  generate(prompt: readonly number[], options?: GenerateOptions): AsyncGenerator<number> {
    return generate(this, prompt, options);
  }

  /** Several prompts at once: each step yields one token per sequence (−1 once a sequence has stopped). */
  generateBatch(prompts: readonly (readonly number[])[], options?: GenerateOptions): AsyncGenerator<number[]> {
    return generateBatch(this, prompts, options);
  }

  #rows(all: Float32Array, b: number): Float32Array[] {
    const V = this.config.vocabSize;
    return Array.from({ length: b }, (_, i) => all.slice(i * V, (i + 1) * V));
  }

  /**
   * T new tokens of every sequence through the cache: `rows` [B][T] host ids, or `ids` i32 [B]
   * on the backend (T = 1, the caller's tensor). `real[b]` of the T are sequence b's own (the
   * rest is prefill padding); returns the logits [B, vocab] of each sequence's last real one.
   */
  #step(input: number[][] | Tensor, cache: ModelCache, fresh: boolean, real: readonly number[]): Tensor {
    const b = this.backend;
    const B = cache.batch;
    const T = Array.isArray(input) ? input[0].length : 1;
    const start = [...cache.lengths];
    const end = start.map((s) => s + T);
    const over = end.findIndex((e) => e > cache.capacity);
    if (over >= 0) throw new OptionsError(`[model] cache: sequence ${over} would hold ${end[over]} tokens, over the capacity ${cache.capacity}`);
    const paged = cache instanceof PagedKvCache;
    if (paged) cache.reserve(end);
    const hostBlockTable = paged ? cache.hostBlockTable() : undefined;
    const startT = b.tensor(new Int32Array(start), [B], 'i32');
    const endT = b.tensor(new Int32Array(end), [B], 'i32');
    const table = hostBlockTable ? b.tensor(new Int32Array(hostBlockTable.flat()), [B, hostBlockTable[0].length], 'i32') : undefined;
    let idT: Tensor | undefined;
    let posT: Tensor | undefined;
    if (Array.isArray(input)) {
      const ids = new Int32Array(B * T);
      const positions = new Int32Array(B * T);
      input.forEach((r, i) => r.forEach((id, t) => ((ids[i * T + t] = id), (positions[i * T + t] = start[i] + t))));
      idT = b.tensor(ids, [B * T], 'i32');
      // One new token each: its position is the sequence's start, already uploaded.
      if (T > 1) posT = b.tensor(positions, [B * T], 'i32');
    }
    let hidden: Tensor;
    try {
      hidden = this.#body(idT ?? (input as Tensor), posT ?? startT, cachedAttend(b, this.config, { cache, newTokens: T, start: startT, hostStart: start, end: endT, fresh, blockTable: table, hostBlockTable }));
    } finally {
      idT?.dispose();
      posT?.dispose();
      startT.dispose();
      endT.dispose();
      table?.dispose();
    }
    real.forEach((n, i) => (cache.lengths[i] = start[i] + n));
    // T = 1: hidden's rows are already each sequence's last token (no gather, one dispatch less).
    if (T === 1) return this.#lmHead(hidden);
    // Only each sequence's last real token needs logits: gather those rows (embedding is a row gather).
    const lastT = b.tensor(new Int32Array(real.map((n, i) => i * T + n - 1)), [B], 'i32');
    const last = b.embedding({ weight: hidden, ids: lastT });
    lastT.dispose();
    last.invalid.dispose();
    hidden.dispose();
    return this.#lmHead(last.y);
  }

  #checkCache(cache: ModelCache, batch: number): void {
    this.#live();
    if (!(cache instanceof KvCache || cache instanceof PagedKvCache) || cache.disposed) throw new OptionsError('[model] cache: expected a live KvCache or PagedKvCache from createCache() / createPagedCache()');
    if (cache.dtype !== this.dtype || cache.layers.length !== this.config.numLayers) throw new OptionsError('[model] cache: it was created for another model');
    if (batch !== cache.batch) throw new OptionsError(`[model] expected ${cache.batch} sequences (the cache's batch), got ${batch}`);
  }

  #live(): void {
    if (this.#disposed) throw new OptionsError('[model] the model was disposed');
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    disposeWeights(this.weights);
  }
}
