import { z } from 'zod';
import { OptionsError } from '../../errors.js';
import { IGNORE } from './labels.js';
import type { TrainExample } from './step.js';

/** A chat turn (the shape of tokenizer.ts's ChatMessage, kept here so training data needs no tokenizer library). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

/** What the data path needs of a tokenizer (TextTokenizer has it). */
export interface TrainTokenizer {
  encode(text: string, addSpecialTokens?: boolean): number[];
  applyChatTemplate(messages: readonly ChatMessage[], addGenerationPrompt?: boolean): string;
}

const message = z.object({ role: z.enum(['system', 'user', 'assistant', 'tool']), content: z.string() }).strict();
/** One JSONL record: plain text (every token learned) or a chat (assistant turns learned). */
export const trainRecord = z.union([
  z.object({ text: z.string().min(1) }).strict(),
  z
    .object({ messages: z.array(message).min(1) })
    .strict()
    .refine((r) => r.messages.some((m) => m.role === 'assistant'), { message: 'expected at least one assistant message (nothing else is learned)', path: ['messages'] }),
]);
export type TrainRecord = z.infer<typeof trainRecord>;

/** The records of a JSONL text (blank lines skipped); a bad line is an OptionsError naming `source`:line. */
export function parseJsonl(text: string, source: string): TrainRecord[] {
  const out: TrainRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new OptionsError(`[lora] ${source}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    const p = trainRecord.safeParse(json);
    if (!p.success) throw new OptionsError(`[lora] ${source}:${i + 1}: expected {"text": "…"} or {"messages": [{"role", "content"}, …]}: ${p.error.issues[0].path.join('.') || '(root)'}: ${p.error.issues[0].message}`);
    out.push(p.data);
  });
  if (out.length === 0) throw new OptionsError(`[lora] ${source}: no records`);
  return out;
}

const startsWith = (a: readonly number[], prefix: readonly number[]) => prefix.length <= a.length && prefix.every((x, i) => a[i] === x);

/**
 * A record as token ids and labels. Text: the tokenizer's special tokens added, every token a
 * target. Chat: the whole conversation through the chat template; only each assistant turn's
 * tokens (what the template renders for it, up to the next turn) are targets — the tokens
 * of the conversation rendered up to that turn with the generation prompt are masked (−100).
 * Those renderings must tokenize to prefixes of the whole (a tokenizer merging across a turn
 * boundary would shift the mask): otherwise an OptionsError. Longer than maxSeqLen: truncated.
 */
export function tokenizeRecord(r: TrainRecord, tok: TrainTokenizer, maxSeqLen: number, source = 'record'): TrainExample {
  if (!Number.isInteger(maxSeqLen) || maxSeqLen < 2) throw new OptionsError(`[lora] maxSeqLen: expected an integer ≥ 2 (one input and one target), got ${maxSeqLen}`);
  if ('text' in r) {
    const ids = tok.encode(r.text, true).slice(0, maxSeqLen);
    return { ids };
  }
  const ids = tok.encode(tok.applyChatTemplate(r.messages, false), false);
  const labels = new Array<number>(ids.length).fill(IGNORE);
  r.messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const before = tok.encode(tok.applyChatTemplate(r.messages.slice(0, i), true), false);
    const through = tok.encode(tok.applyChatTemplate(r.messages.slice(0, i + 1), false), false);
    if (!startsWith(ids, before) || !startsWith(ids, through) || through.length < before.length) {
      throw new OptionsError(`[lora] ${source}: message ${i} (assistant): the chat template's rendering up to it does not tokenize to a prefix of the whole conversation, so its prompt tokens cannot be masked exactly`);
    }
    for (let t = before.length; t < through.length; t++) labels[t] = ids[t];
  });
  return { ids: ids.slice(0, maxSeqLen), labels: labels.slice(0, maxSeqLen) };
}

/**
 * Consecutive examples grouped into micro-batches of at most `maxTokens` tokens each (each
 * micro-batch is one packed varlen forward): order kept, no example split. An example longer
 * than maxTokens is an OptionsError (truncate with maxSeqLen ≤ maxTokens).
 */
export function packMicroBatches(examples: readonly TrainExample[], maxTokens: number): TrainExample[][] {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new OptionsError(`[lora] maxTokens: expected an integer ≥ 1, got ${maxTokens}`);
  const out: TrainExample[][] = [];
  let cur: TrainExample[] = [];
  let used = 0;
  examples.forEach((e, i) => {
    const n = e.ids.length;
    if (n > maxTokens) throw new OptionsError(`[lora] examples[${i}]: ${n} tokens exceed maxTokens ${maxTokens}`);
    if (used + n > maxTokens && cur.length > 0) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(e);
    used += n;
  });
  if (cur.length > 0) out.push(cur);
  return out;
}
