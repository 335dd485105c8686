import { z } from 'zod';
import { DataError } from '../../../errors.js';
import type { ChatMessage } from '../../tokenizer.js';

/**
 * The two record shapes of a training JSONL line. Keys other than `text` / `messages` (an
 * `id`, a `source`) are allowed and ignored, as in Hugging Face datasets; within a message only
 * `role` and `content` reach the chat template.
 */
export type TrainRecord = { kind: 'text'; text: string } | { kind: 'chat'; messages: ChatMessage[] };

const textSchema = z.object({ text: z.string().min(1, 'expected a non-empty string') });

const messageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
});

const chatSchema = z.object({
  messages: z
    .array(messageSchema)
    .min(1, 'expected at least one message')
    // Only assistant replies are trained: a conversation without one would train nothing.
    .refine((ms) => ms.some((m) => m.role === 'assistant'), 'expected at least one assistant message (only assistant replies are trained)'),
});

const EXPECTED = 'expected {"text": string} or {"messages": [{"role", "content"}, …]}';

/** Validates one parsed JSON line; a DataError names file:line, the key and what was expected. */
export function parseRecord(value: unknown, file: string, line: number): TrainRecord {
  const fail = (what: string) => new DataError(`[data] ${file}:${line}: ${what}`, { file, line });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`${EXPECTED}, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  const hasText = 'text' in value;
  const hasMessages = 'messages' in value;
  if (hasText && hasMessages) throw fail('expected either "text" or "messages", not both');
  if (!hasText && !hasMessages) throw fail(`${EXPECTED}, got keys ${JSON.stringify(Object.keys(value))}`);
  const r = hasText ? textSchema.safeParse(value) : chatSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw fail(`'${i.path.join('.')}' ${i.message}`);
  }
  return 'text' in r.data ? { kind: 'text', text: r.data.text } : { kind: 'chat', messages: r.data.messages };
}
