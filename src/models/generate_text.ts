import { z } from 'zod';
import { OptionsError } from '../errors.js';
import { generate, generateOptions } from './generate.js';
import type { LlamaModel } from './llama.js';
import type { ChatMessage, TextTokenizer } from './tokenizer.js';

export const generateTextOptions = generateOptions.extend({
  /** Generation ends before the first occurrence of any of these in the text (not emitted). */
  stop: z.array(z.string().min(1)).max(16).default([]),
});
export type GenerateTextOptions = z.input<typeof generateTextOptions>;

/**
 * Text in, text deltas out: a prompt string (encoded with the tokenizer's post-processor) or a
 * conversation (through the chat template), generated over the KV cache, decoded as a stream
 * (never splitting a UTF-8 character). Stops after an EOS token (not emitted; the config's and
 * the tokenizer's EOS ids by default), at maxNewTokens, or before a stop string — text that
 * could still become a stop string is held back until it cannot.
 */
/** Filled in as generation runs (for tokens/s): ms timestamps from performance.now(). */
export interface GenerateStats {
  promptTokens: number;
  newTokens: number;
  start: number;
  /** When the first new token was back on the host: the end of the prefill. */
  firstToken: number;
  end: number;
}

export async function* generateText(model: LlamaModel, tok: TextTokenizer, prompt: string | readonly ChatMessage[], options: GenerateTextOptions = {}, stats?: GenerateStats): AsyncGenerator<string> {
  const p = generateTextOptions.safeParse(options);
  if (!p.success) throw new OptionsError(`[generate] ${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}`);
  const { stop, ...o } = p.data;
  const ids = typeof prompt === 'string' ? tok.encode(prompt) : tok.encode(tok.applyChatTemplate(prompt, true), false);
  const eos = new Set(o.eosTokenIds ?? [...model.config.eosTokenIds, ...tok.eosTokenIds]);
  const stream = tok.stream();
  const hold = Math.max(0, ...stop.map((s) => s.length - 1));
  let pending = '';
  // Emits what can no longer be part of a stop string; true when a stop string was found.
  function* drain(final: boolean): Generator<string, boolean> {
    const at = Math.min(...stop.map((s) => pending.indexOf(s)).filter((i) => i >= 0));
    if (Number.isFinite(at)) {
      if (at > 0) yield pending.slice(0, at);
      return true;
    }
    const safe = final ? pending.length : pending.length - hold;
    if (safe > 0) {
      yield pending.slice(0, safe);
      pending = pending.slice(safe);
    }
    return false;
  }
  if (stats) Object.assign(stats, { promptTokens: ids.length, newTokens: 0, start: performance.now(), firstToken: 0, end: 0 });
  for await (const id of generate(model, ids, { ...o, eosTokenIds: [...eos] })) {
    if (stats) {
      if (stats.newTokens === 0) stats.firstToken = performance.now();
      stats.newTokens++;
      stats.end = performance.now();
    }
    if (eos.has(id)) break;
    pending += stream.push(id);
    if (yield* drain(false)) return;
  }
  pending += stream.flush();
  yield* drain(true);
}
