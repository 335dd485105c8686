import { FLOAT_DTYPES } from '../../dtype.js';
import { chance, dim, fuzzCase, int, pick, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { kvInputs, kvLabel, type KvProblem } from './cases.js';

/**
 * kv_cache_copy: 1–4 sequences of 1–300 new tokens (mostly 1: a decode step) at positions
 * from 0 to the last that fits (sometimes invalid: negative, one past, i32 extremes, or a
 * block-table entry outside the cache), contiguous or paged caches with odd block sizes,
 * every head-dim class, a cache dtype other than k's half the time.
 */
export function kvFuzz(r: Rand): OpCase {
  const d = chance(r, 0.5) ? pick(r, [64, 128, 256]) : 8 * int(r, 1, 32);
  const dv = chance(r, 0.7) ? d : 8 * int(r, 1, 32);
  const hkv = pick(r, [1, 1, 2, 3, 8]);
  const b = int(r, 1, 4);
  const snew = chance(r, 0.5) ? 1 : dim(r, 300);
  const budget = Math.max(snew, Math.floor((1 << 19) / (hkv * (d + dv) * b)));
  const cap = Math.max(snew, snew + dim(r, Math.max(1, Math.min(budget, 600))) - 1);
  const p: KvProblem = { positions: [], snew, hkv, d, dv };
  if (chance(r, 0.5)) {
    const blockSize = pick(r, [1, 3, 8, 16, 32]);
    const maxBlocks = Math.ceil(cap / blockSize);
    // Enough blocks that every sequence's written entries get distinct ones (a shared slot has no defined winner).
    p.paged = { blockSize, maxBlocks, numBlocks: b * maxBlocks + int(r, 0, 3) };
  } else p.smax = cap;
  const capacity = p.paged ? p.paged.maxBlocks * p.paged.blockSize : cap;
  p.positions = Array.from({ length: b }, () => (chance(r, 0.3) ? capacity - snew : chance(r, 0.2) ? 0 : int(r, 0, capacity - snew)));
  if (chance(r, 0.08)) p.positions[int(r, 0, b - 1)] = pick(r, [-1, capacity - snew + 1, 2 ** 31 - 1, -(2 ** 31)]);
  if (p.paged && chance(r, 0.08)) p.badTable = int(r, 0, b - 1);
  if (chance(r, 0.5)) p.cache = pick(r, FLOAT_DTYPES);
  if (chance(r, 0.1)) p.range = pick(r, [1e5, 1e-6]);
  return fuzzCase(kvLabel(p), {}, (dtype, seed) => kvInputs(p, dtype, seed));
}
