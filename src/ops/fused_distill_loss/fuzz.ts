import { chance, dim, fuzzCase, pick, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { distillBackwardInputs, distillInputs, distillLabel, type DistillDef } from './cases.js';
import type { DistillOpts } from './reference.js';

/** Vocabularies 1 to 65k, rows within a budget, rank-3 logits, every loss, temperature and reduction, wide ranges. */
function draw(r: Rand): DistillDef {
  const v = chance(r, 0.15) ? pick(r, [32000, 32001, 50257, 65537]) : dim(r, 5000);
  const rows = dim(r, Math.max(1, Math.min(64, Math.floor((1 << 16) / v))));
  const options: Partial<DistillOpts> = { loss: pick(r, ['kl', 'reverse_kl', 'js', 'soft_ce'] as const) };
  if (chance(r, 0.6)) options.temperature = pick(r, [0.5, 0.7, 2, 4]);
  if (chance(r, 0.5)) options.reduction = pick(r, ['sum', 'none'] as const);
  return { shape: rows % 2 === 0 && chance(r, 0.3) ? [2, rows / 2, v] : [rows, v], options, range: pick(r, [2, 8, 20, 60]) };
}

export function distillFuzz(r: Rand): OpCase {
  const d = draw(r);
  return fuzzCase(distillLabel(d), d.options, (dt, s) => distillInputs(d, dt, s));
}

export function distillBackwardFuzz(r: Rand): OpCase {
  const d = draw(r);
  return fuzzCase(distillLabel(d), d.options, (dt, s) => distillBackwardInputs(d, dt, s));
}
