import { z } from 'zod';
import { finite } from '../check.js';
import { OFFSET_LIMIT } from '../flash_attention_forward/options.js';

/**
 * decode_attention's options. Query t of a sequence of `length` keys sits at position
 * length − T + t and sees keys max(0, pos − left) ≤ j ≤ pos (always causal: the T new tokens
 * are the last T keys of the cache).
 */
export const decodeOptions = z
  .object({
    /** Multiplies q·k; default 1/√D. */
    scale: finite().optional(),
    /** Sliding window: keys at most `left` positions before the query (Mistral/Gemma). */
    window: z.object({ left: z.number().int().min(0).max(OFFSET_LIMIT) }).strict().optional(),
    /** Logit softcap cap·tanh(s/cap) on the scaled scores. */
    softcap: finite().positive().optional(),
  })
  .strict();
export type DecodeOptions = z.output<typeof decodeOptions>;
