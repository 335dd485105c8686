import type { KernelBackend, StepGraph } from '../backend/interface.js';
import { envFlag } from '../env_flag.js';
import { OptionsError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { KvCache } from './kv_cache.js';
import type { LlamaModel } from './llama.js';

/**
 * PMETAL_DECODE_GRAPH=1|0 (read at each decode loop's start; default 1): on a backend with
 * step graphs (webgpu), the loop's decode step — embedding, every layer, LM head and `sample` —
 * is captured once and replayed for every later step (backend/webgpu/graph.ts says why: the
 * op-by-op recording of a 1B step cost more host time than the GPU took). 0 records every step
 * op by op, as before; both give the same tokens.
 */
export function decodeGraphEnabled(v = process.env.PMETAL_DECODE_GRAPH): boolean {
  return envFlag('generate', 'PMETAL_DECODE_GRAPH', true, v);
}

/** `sample`'s per-row tensors for a step (the loop's constants; an absent option is sample's default). */
export type SampleInputs = { seeds: Tensor } & Partial<Record<'temperature' | 'topK' | 'topP' | 'minP', Tensor>>;

/**
 * The decode loop's step as a graph. The ids the step reads are one tensor (`ids`, given: the
 * prefill's sampled ids), the step's sampled ids are copied back into it at the step's end, so
 * step n+1 reads step n's draw; positions, lengths and the sampler's step counter are tensors
 * written before each replay. Step 1 is captured (and runs); later steps replay.
 */
export class DecodeGraph {
  #graph?: StepGraph;
  #tokens?: Tensor;
  /** Made at the capture with the first step's values; written before each replay. */
  #inputs?: { start: Tensor; end: Tensor; offsets: Tensor };

  constructor(
    private readonly model: LlamaModel,
    private readonly cache: KvCache,
    /** i32 [B]: read by every step and rewritten with its draw (owned by the caller, who keeps it alive). */
    private readonly ids: Tensor,
    private readonly sampling: SampleInputs,
    private readonly sampleOpts: { rowsWithoutTopK: boolean },
  ) {}

  static supported(b: KernelBackend): boolean {
    return typeof b.captureGraph === 'function';
  }

  /** Step `step` (its sampler counter): returns the step's sampled ids (one tensor for every step: read it before the next step). */
  step(step: number): Tensor {
    const b = this.model.backend;
    const c = this.cache;
    const start = Int32Array.from(c.lengths);
    const over = start.findIndex((n) => n + 1 > c.capacity);
    if (over >= 0) throw new OptionsError(`[model] cache: sequence ${over} would hold ${start[over] + 1} tokens, over the capacity ${c.capacity}`);
    const end = start.map((n) => n + 1);
    const offsets = new Uint32Array(c.batch).fill(step);
    if (!this.#graph) {
      const B = c.batch;
      const io = (this.#inputs = { start: b.tensor(start, [B], 'i32'), end: b.tensor(end, [B], 'i32'), offsets: b.tensor(offsets, [B], 'u32') });
      // The capture's own step runs too.
      const { result, graph } = b.captureGraph!((cap) => {
        const logits = this.model.decodeLogitsAt(this.ids, c, io.start, io.end);
        let s: ReturnType<typeof b.sample>;
        try {
          s = b.sample({ logits, offsets: io.offsets, ...this.sampling }, this.sampleOpts);
        } finally {
          logits.dispose();
        }
        s.logprobs.dispose();
        cap.copy(s.tokens, this.ids);
        return s.tokens;
      });
      this.#graph = graph;
      this.#tokens = result;
    } else {
      const io = this.#inputs!;
      this.#graph.write(io.start, start);
      this.#graph.write(io.end, end);
      this.#graph.write(io.offsets, offsets);
      this.#graph.replay();
    }
    for (let i = 0; i < c.batch; i++) c.lengths[i] = end[i];
    return this.#tokens!;
  }

  /** Dispatches one step records (after the first step). */
  get dispatches(): number | undefined {
    return this.#graph?.dispatches;
  }

  dispose(): void {
    this.#graph?.dispose();
    this.#tokens?.dispose();
    if (this.#inputs) for (const t of Object.values(this.#inputs)) t.dispose();
  }
}
