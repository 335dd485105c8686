import { chance, dim, fuzzCase, int, pick, splitRows, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { mlpBackwardInputs, mlpForwardInputs, mlpLabel, mlpOptions, type MlpDef } from './cases.js';
import { PROJS, type Proj } from './reference.js';

/** K, I, N that break tiles; an adapter on each projection with probability ½ (ranks 1–64); alpha, dropout, accumulate, recompute; the forward's norm prologue. */
function draw(r: Rand): MlpDef {
  const k = dim(r, 300);
  const i = dim(r, 400);
  const n = chance(r, 0.5) ? k : dim(r, 300);
  const ranks: Partial<Record<Proj, number>> = {};
  for (const p of PROJS) if (chance(r, 0.5)) ranks[p] = pick(r, [1, 2, 4, 8, 16, 64, dim(r, 64)]);
  // The float64 reference and its bounds cost ~T·I·(2K + N) multiply-adds, several times over.
  const t = dim(r, Math.max(1, Math.min(100, Math.floor((1 << 18) / (i * (2 * k + n))))));
  return {
    lead: splitRows(r, t),
    k,
    i,
    n,
    ranks,
    alpha: chance(r, 0.5) ? pick(r, [1, 8, 32]) : undefined,
    dropout: chance(r, 0.4) ? pick(r, [0.05, 0.1, 0.5, 0.9]) : undefined,
    seed: int(r, 0, 2 ** 31),
    accumulate: chance(r, 0.4),
    recompute: chance(r, 0.3) ? false : undefined,
    norm: chance(r, 0.3) ? pick(r, ['norm', 'norm+res'] as const) : undefined,
  };
}

export function mlpForwardFuzz(r: Rand): OpCase {
  const d = draw(r);
  return fuzzCase(mlpLabel(d, false), mlpOptions(d, false), (dt, s) => mlpForwardInputs(d, dt, s));
}

export function mlpBackwardFuzz(r: Rand): OpCase {
  const d = { ...draw(r), norm: undefined };
  return fuzzCase(mlpLabel(d, true), mlpOptions(d, true), (dt, s) => mlpBackwardInputs(d, dt, s));
}
