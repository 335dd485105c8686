import { z } from 'zod';
import { OptionsError } from '../errors.js';
import { decodeLoop, type DecodeLoopStats } from './decode_loop.js';
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

export type GenerateSettings = z.output<typeof generateOptions>;

/**
 * Generation over the KV cache: prefill the prompts, then one decode step per token, each
 * token drawn on the backend by the `sample` op and fed to the next step there (only B ids
 * come back to the host per step, read while the next step runs: decode_loop.ts).
 * Yields one array per step with each sequence's new token, or −1 for a sequence that has
 * already stopped (at an EOS id, which is yielded first).
 */
export async function* generateBatch(model: LlamaModel, prompts: readonly (readonly number[])[], options: GenerateOptions = {}, stats?: DecodeLoopStats): AsyncGenerator<number[]> {
  const p = generateOptions.safeParse(options);
  if (!p.success) throw new OptionsError(`[generate] ${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}`);
  if (!Array.isArray(prompts) || prompts.length === 0) throw new OptionsError('[generate] prompts: expected at least one prompt');
  yield* decodeLoop(model, prompts, p.data, stats);
}

/** One prompt: yields its tokens until EOS (included) or maxNewTokens. */
export async function* generate(model: LlamaModel, prompt: readonly number[], options: GenerateOptions = {}): AsyncGenerator<number> {
  for await (const [t] of generateBatch(model, [prompt], options)) {
    if (t < 0) return;
    yield t;
  }
}
