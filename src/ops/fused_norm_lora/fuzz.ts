import { chance, dim, fuzzCase, int, pick, splitRows, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { normLoraBackwardInputs, normLoraForwardInputs, normLoraLabel, normLoraOptions, type NormLoraDef } from './cases.js';

/** As fused_lora's draw (K, N that break tiles, ranks 1–256, alpha, dropout, bias, accumulate) plus eps. */
function draw(r: Rand): NormLoraDef {
  const rank = pick(r, [1, 2, 4, 8, 16, 32, 64, 128, 256, dim(r, 256)]);
  const k = dim(r, 600);
  const n = dim(r, 600);
  const t = dim(r, Math.max(1, Math.min(300, Math.floor((1 << 19) / (k * Math.max(n, rank))))));
  return {
    lead: splitRows(r, t),
    k,
    n,
    r: rank,
    alpha: chance(r, 0.5) ? pick(r, [1, 8, 2 * rank]) : undefined,
    dropout: chance(r, 0.4) ? pick(r, [0.05, 0.1, 0.5, 0.9]) : undefined,
    seed: int(r, 0, 2 ** 31),
    bias: chance(r, 0.3),
    accumulate: chance(r, 0.4),
    eps: chance(r, 0.3) ? pick(r, [1e-5, 1e-2]) : undefined,
  };
}

export function normLoraForwardFuzz(r: Rand): OpCase {
  const d = draw(r);
  return fuzzCase(normLoraLabel(d, false), normLoraOptions(d, false), (dt, s) => normLoraForwardInputs(d, dt, s));
}

export function normLoraBackwardFuzz(r: Rand): OpCase {
  const d = draw(r);
  return fuzzCase(normLoraLabel(d, true), normLoraOptions(d, true), (dt, s) => normLoraBackwardInputs(d, dt, s));
}
