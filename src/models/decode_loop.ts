import type { HostArray } from '../dtype.js';
import { OptionsError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { GenerateSettings } from './generate.js';
import type { LlamaModel } from './llama.js';

/** Host-side timings of a decode loop (the model bench reads them). */
export interface DecodeLoopStats {
  /** Per decode step after the prefill: host ms spent recording and submitting it. */
  recordMs: number[];
}

/**
 * PMETAL_DECODE_LOOP_VARIANT=pipelined|serial, read at each loop's start: `pipelined`
 * (default) submits step n+1 before awaiting step n's ids; `serial` awaits them first (the
 * GPU idles through each read-back and recording, as the loop did before) — the same tokens,
 * kept so one bench run on a GPU can time what the overlap buys.
 */
export const DECODE_LOOP_VARIANTS = ['pipelined', 'serial'] as const;
export type DecodeLoopVariant = (typeof DECODE_LOOP_VARIANTS)[number];

export function decodeLoopVariant(v = process.env.PMETAL_DECODE_LOOP_VARIANT): DecodeLoopVariant {
  if (v === undefined || v === '') return 'pipelined';
  if (!(DECODE_LOOP_VARIANTS as readonly string[]).includes(v)) throw new OptionsError(`[generate] PMETAL_DECODE_LOOP_VARIANT: expected one of ${DECODE_LOOP_VARIANTS.join(', ')}, got '${v}'`);
  return v as DecodeLoopVariant;
}

/** One step's sampled ids: on the backend (the next step's input) and on their way to the host. */
interface Drawn {
  tokens: Tensor;
  ids: Promise<HostArray>;
}

/**
 * The generation loop, pipelined: the ids `sample` draws at step n stay on the backend and
 * feed step n+1's embedding (LlamaModel.decodeLogits), and step n+1 is recorded and
 * submitted before the host awaits step n's ids. The GPU then runs step n+1 while the host
 * reads step n back, checks it for EOS and yields it; the host round trip no longer idles
 * the GPU. Positions and cache lengths need no ids: every step adds one token per sequence.
 *
 * The stop check lags one step: when every sequence has stopped at step n (or the consumer
 * returns early), step n+1 was already computed, and is awaited and discarded. It stays
 * within the cache's capacity (no step past maxNewTokens is recorded) and the yielded
 * tokens are those of the unpipelined loop: a stopped sequence's row is computed and
 * ignored as before (it is fed its own draws instead of 0, which only its row sees —
 * every op of a step is row-independent).
 */
export async function* decodeLoop(model: LlamaModel, prompts: readonly (readonly number[])[], o: GenerateSettings, stats?: DecodeLoopStats): AsyncGenerator<number[]> {
  const serial = decodeLoopVariant() === 'serial';
  const b = model.backend;
  const B = prompts.length;
  const eos = new Set(o.eosTokenIds ?? model.config.eosTokenIds);
  const longest = Math.max(...prompts.map((q) => q?.length ?? 0));
  const cache = model.createCache(B, longest + o.maxNewTokens);
  const row = <T>(v: T) => new Array<T>(B).fill(v);
  const seeds = b.tensor(new Uint32Array(Array.from({ length: B }, (_, i) => [o.seed, i]).flat()), [B, 2], 'u32');
  const params = {
    temperature: b.tensor(new Float32Array(row(o.temperature)), [B], 'f32'),
    topK: b.tensor(new Int32Array(row(o.topK)), [B], 'i32'),
    topP: b.tensor(new Float32Array(row(o.topP)), [B], 'f32'),
    minP: b.tensor(new Float32Array(row(o.minP)), [B], 'f32'),
  };
  // Samples step `step`'s tokens from `logits` (consumed) and starts reading them back: the
  // read submits the open batch and maps after it, so it waits for nothing recorded later.
  const draw = (step: number, logits: Tensor): Drawn => {
    const offsets = b.tensor(new Uint32Array(B).fill(step), [B], 'u32');
    let s: ReturnType<typeof b.sample>;
    try {
      s = b.sample({ logits, seeds, offsets, ...params });
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
  let cur: Drawn | undefined;
  let next: Drawn | undefined;
  try {
    cur = draw(0, model.prefillLogits(prompts, cache));
    const done = row(false);
    for (let step = 0; ; step++) {
      // Drawn before the loop, then by the step before (which recorded this one: it was below maxNewTokens).
      const now = cur!;
      const ids = serial ? await now.ids : undefined;
      if (step + 1 < o.maxNewTokens) {
        const t0 = performance.now();
        next = draw(step + 1, model.decodeLogits(now.tokens, cache));
        stats?.recordMs.push(performance.now() - t0);
      }
      const drawn = Array.from((ids ?? (await now.ids)) as Int32Array);
      now.tokens.dispose();
      cur = next;
      next = undefined;
      const out = drawn.map((t, i) => (done[i] ? -1 : t));
      out.forEach((t, i) => {
        // −1: every logit was −∞ or NaN; nothing sensible can follow.
        if (t < 0 || eos.has(t)) done[i] = true;
      });
      yield out;
      if (step + 1 >= o.maxNewTokens || done.every(Boolean)) return;
    }
  } finally {
    // A step recorded past the stop is discarded: its work is waited for (nothing of the
    // loop outlives it) and an error it raised is dropped with it (no token of it is seen).
    for (const d of [cur, next]) {
      if (!d) continue;
      await d.ids.catch(() => undefined);
      d.tokens.dispose();
    }
    cache.dispose();
    seeds.dispose();
    Object.values(params).forEach((t) => t.dispose());
  }
}
