import { chance, dim, fuzzCase, int, pick, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { decodeInputs, decodeLabel, decodeOptionsOf, type DecodeProblem } from './cases.js';
import { MAX_DECODE_TOKENS } from './dims.js';

/**
 * decode_attention: 1–4 sequences of 1–16 new tokens, lengths from 0 to the cache's capacity
 * (sometimes invalid: negative, past it, or a block-table entry outside the cache), contiguous
 * or paged caches with odd block sizes, GQA groups 1–8, every head-dim class, window, softcap,
 * sinks.
 */
export function decodeFuzz(r: Rand): OpCase {
  const d = chance(r, 0.5) ? pick(r, [64, 128, 256]) : 8 * int(r, 1, 32);
  const dv = chance(r, 0.7) ? d : 8 * int(r, 1, 32);
  const hkv = pick(r, [1, 1, 2, 3]);
  const hq = hkv * pick(r, [1, 2, 4, 8]);
  const t = chance(r, 0.6) ? 1 : int(r, 2, MAX_DECODE_TOKENS);
  const b = int(r, 1, 4);
  const budget = Math.max(8, Math.floor((1 << 19) / (hq * (d + dv) * t * b)));
  const cap = Math.max(1, dim(r, Math.min(chance(r, 0.2) ? 4096 : 300, budget)));
  const p: DecodeProblem = { lengths: [], t, hq, hkv, d, dv };
  if (chance(r, 0.5)) {
    const blockSize = pick(r, [1, 3, 8, 16, 32]);
    const maxBlocks = Math.ceil(cap / blockSize);
    p.paged = { blockSize, maxBlocks, numBlocks: Math.max(1, b * maxBlocks + int(r, -maxBlocks + 1, 3)) };
  } else p.smax = cap;
  const capacity = p.paged ? p.paged.maxBlocks * p.paged.blockSize : cap;
  p.lengths = Array.from({ length: b }, () => (chance(r, 0.1) ? 0 : chance(r, 0.3) ? capacity : int(r, 0, capacity)));
  if (chance(r, 0.06)) p.lengths[int(r, 0, b - 1)] = pick(r, [-1, capacity + 1, 2 ** 31 - 1, -(2 ** 31)]);
  if (p.paged && chance(r, 0.08)) p.badTable = int(r, 0, b - 1);
  if (chance(r, 0.25)) p.window = chance(r, 0.2) ? 0 : dim(r, capacity + 4);
  if (chance(r, 0.2)) p.softcap = pick(r, [5, 20, 50]);
  if (chance(r, 0.2)) p.scale = pick(r, [0.5, 0.088, 1, -0.25]);
  if (chance(r, 0.25)) p.sinks = true;
  p.range = pick(r, [1, 2, 2, 4, 8]);
  return fuzzCase(decodeLabel(p), decodeOptionsOf(p), (dtype, seed) => decodeInputs(p, dtype, seed));
}
