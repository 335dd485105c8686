import { chance, dim, fuzzCase, int, pick, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { dwInputs, dwLabel } from './cases.js';

/** T, M, N from the sizes that break tiles (1, primes, tile ± 1), micro-batches, alpha and accumulation. */
export function dwGemmFuzz(r: Rand): OpCase {
  const m = dim(r, 300);
  const n = dim(r, 300);
  const t = dim(r, Math.max(1, Math.min(2000, Math.floor((1 << 22) / (m * n)))));
  const d = {
    t,
    m,
    n,
    mb: chance(r, 0.25) ? int(r, 2, 4) : undefined,
    alpha: chance(r, 0.3) ? pick(r, [0.5, -1.25, 2]) : undefined,
    beta: chance(r, 0.4) ? pick(r, [1, -0.5, 0.25]) : undefined,
  };
  return fuzzCase(dwLabel(d), { ...(d.alpha !== undefined ? { alpha: d.alpha } : {}), ...(d.beta ? { beta: d.beta } : {}) }, (dtype, seed) => dwInputs(d, dtype, seed));
}
