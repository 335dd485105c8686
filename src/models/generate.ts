import { z } from 'zod';
import { OptionsError } from '../errors.js';
import type { LlamaModel } from './llama.js';

export const generateOptions = z
  .object({
    maxNewTokens: z.number().int().positive().max(2 ** 20).default(128),
    /** 0 is greedy (the sampler's argmax, ties to the lowest id). */
    temperature: z.number().finite().min(0).default(1),
    /** 0 keeps every token. */
    topK: z.number().int().min(0).default(0),
    topP: z.number().gt(0).max(1).default(1),
    minP: z.number().min(0).max(1).default(0),
    /** Philox key of sequence b is (seed, b); the counter is the step, so a run is reproducible. */
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
    /** Stop a sequence after it emits one of these; default: config.json's eos_token_id. */
    eosTokenIds: z.array(z.number().int().nonnegative()).optional(),
  })
  .strict();
export type GenerateOptions = z.input<typeof generateOptions>;

/**
 * Generation over the KV cache: prefill the prompts, then one decode step per token, each
 * token drawn on the backend by the `sample` op (only B ids come back to the host per step).
 * Yields one array per step with each sequence's new token, or −1 for a sequence that has
 * already stopped (at an EOS id, which is yielded first).
 */
export async function* generateBatch(model: LlamaModel, prompts: readonly (readonly number[])[], options: GenerateOptions = {}): AsyncGenerator<number[]> {
  const p = generateOptions.safeParse(options);
  if (!p.success) throw new OptionsError(`[generate] ${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}`);
  const o = p.data;
  const b = model.backend;
  const B = prompts.length;
  if (!Array.isArray(prompts) || B === 0) throw new OptionsError('[generate] prompts: expected at least one prompt');
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
  try {
    let logits = model.prefillLogits(prompts, cache);
    const done = row(false);
    for (let step = 0; ; step++) {
      const offsets = b.tensor(new Uint32Array(row(step)), [B], 'u32');
      const s = b.sample({ logits, seeds, offsets, ...params });
      offsets.dispose();
      logits.dispose();
      s.logprobs.dispose();
      const drawn = Array.from((await b.read(s.tokens)) as Int32Array);
      s.tokens.dispose();
      const out = drawn.map((t, i) => (done[i] ? -1 : t));
      out.forEach((t, i) => {
        // −1: every logit was −∞ or NaN; nothing sensible can follow.
        if (t < 0 || eos.has(t)) done[i] = true;
      });
      yield out;
      if (step + 1 >= o.maxNewTokens || done.every(Boolean)) return;
      // A stopped sequence is fed a valid id: its row is computed and ignored.
      logits = model.stepLogits(out.map((t) => [t < 0 ? 0 : t]), cache);
    }
  } finally {
    cache.dispose();
    seeds.dispose();
    Object.values(params).forEach((t) => t.dispose());
  }
}

/** One prompt: yields its tokens until EOS (included) or maxNewTokens. */
export async function* generate(model: LlamaModel, prompt: readonly number[], options: GenerateOptions = {}): AsyncGenerator<number> {
  for await (const [t] of generateBatch(model, [prompt], options)) {
    if (t < 0) return;
    yield t;
  }
}
