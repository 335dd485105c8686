import type { HostArray } from '../dtype.js';
import { OptionsError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { GenerateSettings } from './generate.js';
import type { LlamaModel } from './llama.js';
import { DecodeGraph, decodeGraphEnabled } from './decode_graph.js';

/** Host-side timings of a decode loop (the model bench reads them). */
export interface DecodeLoopStats {
  /** Per decode step after the prefill: host ms spent recording and submitting it. */
  recordMs: number[];
}

/**
 * PMETAL_DECODE_LOOP_VARIANT=pipelined2|pipelined|serial, read at each loop's start; all give
 * the same tokens, kept so one bench run on a GPU (`bench --model --decode-loop`) can time them:
 * - `pipelined2` (default since run S17): two steps ahead (n+1 and n+2 submitted before n's
 *   ids are awaited): hides a read-back latency of up to about one more step's GPU time; the
 *   stop check lags two steps. On the H100 (run S17 calls C and D, 1B f16, warmed) 1.69 ms a
 *   step at B = 1 where `pipelined` took 1.70–1.71; 4.27 against 4.42 ms at B = 16.
 * - `pipelined`: step n+1 is submitted before step n's ids are awaited. The GPU
 *   idles when the read-back latency plus one step's recording exceed a step's GPU time.
 * - `serial`: step n's ids are awaited before step n+1 is recorded (the GPU idles through
 *   each read-back and recording, as the loop did before pipelining; 2.30–2.50 ms there).
 */
export const DECODE_LOOP_VARIANTS = ['pipelined2', 'pipelined', 'serial'] as const;
export type DecodeLoopVariant = (typeof DECODE_LOOP_VARIANTS)[number];

export function decodeLoopVariant(v = process.env.PMETAL_DECODE_LOOP_VARIANT): DecodeLoopVariant {
  if (v === undefined || v === '') return 'pipelined2';
  if (!(DECODE_LOOP_VARIANTS as readonly string[]).includes(v)) throw new OptionsError(`[generate] PMETAL_DECODE_LOOP_VARIANT: expected one of ${DECODE_LOOP_VARIANTS.join(', ')}, got '${v}'`);
  return v as DecodeLoopVariant;
}

/** One step's sampled ids: on the backend (the next step's input) and on their way to the host. */
interface Drawn {
  tokens: Tensor;
  ids: Promise<HostArray>;
  /** The tensor is the step graph's (decode_graph.ts): not disposed with the step. */
  shared?: boolean;
}

/**
 * The generation loop, pipelined: the ids `sample` draws at step n stay on the backend and
 * feed step n+1's embedding (LlamaModel.decodeLogits), and steps n+1 and n+2 (n+1 alone with
 * `pipelined`) are recorded and submitted before the host awaits step n's ids. The GPU then
 * runs them while the host reads step n back, checks it for EOS and yields it; the host round
 * trip no longer idles the GPU. Positions and cache lengths need no ids: every step adds one
 * token per sequence.
 *
 * The stop check lags two steps (one with `pipelined`): when every sequence has stopped at
 * step n (or the consumer returns early), the steps after it were already computed, and are
 * awaited and discarded. It stays
 * within the cache's capacity (no step past maxNewTokens is recorded) and the yielded
 * tokens are those of the unpipelined loop: a stopped sequence's row is computed and
 * ignored as before (it is fed its own draws instead of 0, which only its row sees —
 * every op of a step is row-independent).
 */
export async function* decodeLoop(model: LlamaModel, prompts: readonly (readonly number[])[], o: GenerateSettings, stats?: DecodeLoopStats): AsyncGenerator<number[]> {
  const variant = decodeLoopVariant();
  const serial = variant === 'serial';
  // Steps recorded beyond the one awaited (serial: one, recorded after the await).
  const ahead = variant === 'pipelined2' ? 2 : 1;
  const b = model.backend;
  const B = prompts.length;
  const eos = new Set(o.eosTokenIds ?? model.config.eosTokenIds);
  const longest = Math.max(...prompts.map((q) => q?.length ?? 0));
  const cache = model.createCache(B, longest + o.maxNewTokens);
  const row = <T>(v: T) => new Array<T>(B).fill(v);
  const seeds = b.tensor(new Uint32Array(Array.from({ length: B }, (_, i) => [o.seed, i]).flat()), [B, 2], 'u32');
  // Only the options that differ from sample's defaults (temperature 1, no top-k, top-p 1,
  // min-p 0) become tensors: an absent one is its default, and each given one is a copy into
  // the sampler's option buffer on every step (a greedy step needs the temperature alone).
  const params: Partial<Record<'temperature' | 'topK' | 'topP' | 'minP', Tensor>> = {
    ...(o.temperature !== 1 ? { temperature: b.tensor(new Float32Array(row(o.temperature)), [B], 'f32') } : {}),
    ...(o.topK > 0 ? { topK: b.tensor(new Int32Array(row(o.topK)), [B], 'i32') } : {}),
    ...(o.topP < 1 ? { topP: b.tensor(new Float32Array(row(o.topP)), [B], 'f32') } : {}),
    ...(o.minP > 0 ? { minP: b.tensor(new Float32Array(row(o.minP)), [B], 'f32') } : {}),
  };
  // Every row is greedy or keeps a top-k: the sampler may skip the pass rows without one need.
  const sampleOpts = { rowsWithoutTopK: !(o.temperature <= 0 || (o.topK >= 1 && o.topK < model.config.vocabSize)) };
  // Samples step `step`'s tokens from `logits` (consumed) and starts reading them back: the
  // read submits the open batch and maps after it, so it waits for nothing recorded later.
  const draw = (step: number, logits: Tensor): Drawn => {
    const offsets = b.tensor(new Uint32Array(B).fill(step), [B], 'u32');
    let s: ReturnType<typeof b.sample>;
    try {
      s = b.sample({ logits, seeds, offsets, ...params }, sampleOpts);
    } finally {
      offsets.dispose();
      logits.dispose();
    }
    s.logprobs.dispose();
    const ids = b.read(s.tokens);
    // Awaited a step later (or discarded): never an unhandled rejection in between.
    ids.catch(() => undefined);
    return { tokens: s.tokens, ids };
  };
  // With step graphs, steps ≥ 1 replay step 1's commands; they read and rewrite the prefill's ids tensor.
  let graph: DecodeGraph | undefined;
  let graphIds: Tensor | undefined;
  const useGraph = decodeGraphEnabled() && DecodeGraph.supported(b);
  const drawGraph = (n: number, prev: Drawn): Drawn => {
    if (!graph) {
      graphIds = prev.tokens;
      prev.shared = true;
      graph = new DecodeGraph(model, cache, graphIds, { seeds, ...params }, sampleOpts);
    }
    const tokens = graph.step(n);
    const ids = b.read(tokens);
    ids.catch(() => undefined);
    return { tokens, ids, shared: true };
  };
  // Steps recorded and not yet consumed, oldest first; queue[0] is the step the loop awaits.
  const queue: Drawn[] = [];
  try {
    queue.push(draw(0, model.prefillLogits(prompts, cache)));
    const done = row(false);
    for (let step = 0; ; step++) {
      if (serial) await queue[0].ids;
      // Keep `ahead` steps past this one recorded (none past maxNewTokens), each fed the ids of the one before.
      for (let n = step + queue.length; n < o.maxNewTokens && n <= step + ahead; n++) {
        const t0 = performance.now();
        const prev = queue[queue.length - 1];
        queue.push(useGraph ? drawGraph(n, prev) : draw(n, model.decodeLogits(prev.tokens, cache)));
        stats?.recordMs.push(performance.now() - t0);
      }
      const drawn = Array.from((await queue[0].ids) as Int32Array);
      const done0 = queue.shift()!;
      if (!done0.shared) done0.tokens.dispose();
      const out = drawn.map((t, i) => (done[i] ? -1 : t));
      out.forEach((t, i) => {
        // −1: every logit was −∞ or NaN; nothing sensible can follow.
        if (t < 0 || eos.has(t)) done[i] = true;
      });
      yield out;
      if (step + 1 >= o.maxNewTokens || done.every(Boolean)) return;
    }
  } finally {
    // Steps recorded past the stop are discarded: their work is waited for (nothing of the
    // loop outlives it) and an error one raised is dropped with it (no token of it is seen).
    for (const d of queue) {
      await d.ids.catch(() => undefined);
      if (!d.shared) d.tokens.dispose();
    }
    graph?.dispose();
    graphIds?.dispose();
    cache.dispose();
    seeds.dispose();
    Object.values(params).forEach((t) => t?.dispose());
  }
}
