import { z } from 'zod';
import { finite } from '../check.js';

/**
 * Offsets and window sides are bounded so that every position a kernel forms in 32-bit
 * integers — query position + offset ± a window side, with positions below 2^28 (no binding
 * holds more 8-element rows) — stays inside i32 without a wrap.
 */
export const OFFSET_LIMIT = 2 ** 29;

const side = z.number().int().min(0).max(OFFSET_LIMIT);

/** The options of every attention op (the backward takes the forward call's options). */
export const attentionOptions = z
  .object({
    /** 'bshd': [B, S, H, D] (packed varlen [T, H, D]); 'bhsd': [B, H, S, D] (packed [H, T, D]). */
    layout: z.enum(['bshd', 'bhsd']).default('bshd'),
    /** Multiplies q·k; default 1/√D. */
    scale: finite().optional(),
    /** Query i sees keys j ≤ i + queryOffset (bottom-right alignment by default). */
    causal: z.boolean().default(false),
    /**
     * Position of query 0 among the keys, for the causal mask and the window; default Sk − Sq
     * (per sequence for varlen), so the last query is aligned with the last key (a KV cache).
     */
    queryOffset: z.number().int().min(-OFFSET_LIMIT).max(OFFSET_LIMIT).optional(),
    /**
     * Sliding window (Mistral/Gemma): key j is visible to query i iff
     * i + offset − left ≤ j ≤ i + offset + right; an absent side is unbounded.
     */
    window: z.object({ left: side.optional(), right: side.optional() }).strict().optional(),
    /** Logit softcap (Gemma 2): s → cap·tanh(s/cap) on the scaled scores, before masking. */
    softcap: finite().positive().optional(),
  })
  .strict();
export type AttentionOptions = z.output<typeof attentionOptions>;

export const defaultScale = (o: { scale?: number }, d: number): number => o.scale ?? 1 / Math.sqrt(d);

/**
 * The score transform's Params of every attention kernel (forward, backward, decode): the
 * scale and the softcap, cap = 1 when there is none so inv_cap stays finite (has_cap, where a
 * kernel takes it, says whether it applies).
 */
export const kernelScore = (o: { scale?: number; softcap?: number }, d: number) => ({ scale: defaultScale(o, d), cap: o.softcap ?? 1, inv_cap: 1 / (o.softcap ?? 1) });

/**
 * The keys [lo, hi] (inclusive, positions within the sequence) that query i sees in a
 * sequence of sq queries and sk keys; empty when lo > hi.
 */
export function visibleRange(o: AttentionOptions, i: number, sq: number, sk: number): [number, number] {
  const pos = i + (o.queryOffset ?? sk - sq);
  let lo = 0;
  let hi = sk - 1;
  if (o.window?.left !== undefined) lo = Math.max(lo, pos - o.window.left);
  if (o.window?.right !== undefined) hi = Math.min(hi, pos + o.window.right);
  if (o.causal) hi = Math.min(hi, pos);
  return [lo, hi];
}

/**
 * Whether a cu_seqlens array describes sequences inside a packed tensor of `total` tokens:
 * cu[0] = 0, nondecreasing, cu[B] ≤ total (tokens past cu[B] are padding). The kernels test
 * exactly this on the device; an invalid pair makes every output element NaN.
 */
export function cuValid(cu: ArrayLike<number>, total: number): boolean {
  if (cu[0] !== 0) return false;
  for (let i = 0; i + 1 < cu.length; i++) if (!(cu[i] <= cu[i + 1])) return false;
  return cu[cu.length - 1] <= total;
}

/** An unbounded window side for the kernels (options are bounded by 2^29, positions by 2^28). */
export const UNBOUNDED = 2 ** 30;

/**
 * The mask as every kernel takes it: queryOffset when given (else each sequence's Sk − Sq),
 * window sides with UNBOUNDED for an absent one, causal folded into right ≤ 0.
 */
export function kernelMask(o: AttentionOptions) {
  return {
    has_offset: o.queryOffset === undefined ? 0 : 1,
    offset: o.queryOffset ?? 0,
    left: o.window?.left ?? UNBOUNDED,
    right: Math.min(o.window?.right ?? UNBOUNDED, o.causal ? 0 : UNBOUNDED),
  };
}
