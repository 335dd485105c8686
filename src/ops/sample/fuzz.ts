import { chance, dim, int, pick, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { sampleCase } from './cases.js';

/** Vocabularies from 1 to 70k (tile ± 1, primes), up to 64 rows, every option, ties and masks. */
export function sampleFuzz(r: Rand): OpCase {
  const v = chance(r, 0.1) ? pick(r, [32000, 50257, 65537]) : dim(r, 5000);
  const b = dim(r, Math.max(1, Math.min(64, Math.floor((1 << 17) / v))));
  return sampleCase({
    b,
    v,
    range: pick(r, [1, 8, 30]),
    ties: chance(r, 0.3),
    masked: chance(r, 0.2),
    temperature: chance(r, 0.8),
    topK: chance(r, 0.5),
    topP: chance(r, 0.5),
    minP: chance(r, 0.3),
    penalties: chance(r, 0.3),
    bias: chance(r, 0.3),
    offsets: chance(r, 0.5),
    topLogprobs: chance(r, 0.4) ? Math.min(v, int(r, 1, 20)) : 0,
  });
}
