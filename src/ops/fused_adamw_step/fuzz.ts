import { chance, dim, fuzzCase, int, pick, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { adamwInputs, adamwLabel, type AdamwDef } from './cases.js';

/**
 * Parameter lists of 1 to 70k elements, as one tensor or 1–12 segments (empty ones too) with
 * random lr / weight-decay scales; clipping that bites or not, device scalars, every β/eps
 * range, steps from 1 to 10^5, non-finite gradients, bad tables and bad device scalars, in
 * place or not, with an accumulated flag input or not.
 */
export function adamwFuzz(r: Rand): OpCase {
  const p = dim(r, 70000);
  const d: AdamwDef = { sizes: [p] };
  if (chance(r, 0.4)) {
    const n = int(r, 1, 12);
    const cuts = Array.from({ length: n - 1 }, () => int(r, 0, p)).sort((a, b) => a - b);
    const bounds = [0, ...cuts, p];
    d.sizes = bounds.slice(1).map((b, k) => b - bounds[k]);
    d.groups = d.sizes.map(() => [pick(r, [1, 0.5, 2, 0]), pick(r, [1, 0])]);
    if (chance(r, 0.08)) d.badTable = true;
  }
  const options: Record<string, unknown> = {};
  if (chance(r, 0.5)) options.lr = pick(r, [1e-4, 3e-4, 1e-2, 0.1]);
  if (chance(r, 0.3)) options.beta1 = pick(r, [0, 0.5, 0.8, 0.95]);
  if (chance(r, 0.3)) options.beta2 = pick(r, [0.9, 0.95, 0.99, 0.9999]);
  if (chance(r, 0.3)) options.eps = pick(r, [1e-6, 1e-10, 1e-3]);
  if (chance(r, 0.4)) options.weightDecay = pick(r, [0, 0.1, 1]);
  if (chance(r, 0.6)) options.step = pick(r, [1, 2, 10, 1000, 100000]);
  if (chance(r, 0.4)) options.maxGradNorm = pick(r, [1e-3, 0.5, 1, 100]);
  if (chance(r, 0.3)) options.inPlace = true;
  d.options = options;
  if (chance(r, 0.2)) d.scalars = [pick(r, [0, 1e-3, 5e-2]), pick(r, [1, 3, 777, 65536, chance(r, 0.3) ? 2.5 : 12])];
  if (chance(r, 0.1)) d.nonfinite = pick(r, ['inf', 'nan'] as const);
  if (chance(r, 0.3)) d.gradsF32 = true;
  d.g = pick(r, [1, 1e-3, 30]);
  if (chance(r, 0.2)) d.flagIn = pick(r, [0, 1, 6]);
  return fuzzCase(adamwLabel(d), options, (dtype, seed) => adamwInputs(d, dtype, seed));
}
