import { toFloat64, type FloatDType } from '../../dtype.js';
import { chance, dim, fuzzCase, int, pick, type Rand } from '../fuzz.js';
import { randomInts, uniform } from '../random.js';
import type { HostTensor, OpCase } from '../types.js';
import { crossEntropyRef, type CeOptions } from './reference.js';

interface Drawn {
  shape: number[];
  options: Partial<CeOptions>;
  range: number;
  /** Fraction of rows given the ignore index; rows with a target outside [0, V) (NaN by definition). */
  ignored: number;
  invalid: boolean;
}

/** Vocabularies from 1 to 70k (tile ± 1, primes), any row count within the budget, every option. */
function draw(r: Rand): Drawn {
  const v = chance(r, 0.15) ? pick(r, [32000, 32001, 50257, 65537]) : dim(r, 5000);
  const rows = dim(r, Math.max(1, Math.min(64, Math.floor((1 << 17) / v))));
  const shape = rows % 2 === 0 && chance(r, 0.3) ? [2, rows / 2, v] : [rows, v];
  const options: Partial<CeOptions> = {};
  if (chance(r, 0.3)) options.labelSmoothing = pick(r, [0.05, 0.1, 0.3]);
  if (chance(r, 0.3)) options.softcap = pick(r, [5, 15, 30]);
  if (chance(r, 0.5)) options.reduction = pick(r, ['sum', 'none'] as const);
  if (chance(r, 0.15)) options.ignoreIndex = int(r, 0, v - 1);
  return { shape, options, range: pick(r, [4, 8, 20, 60]), ignored: pick(r, [0, 0, 0.3, 1]), invalid: chance(r, 0.1) };
}

function label(d: Drawn): string {
  const o = d.options;
  return [`shape=${d.shape.join('x')}`, o.reduction ?? 'mean', o.labelSmoothing ? `smooth=${o.labelSmoothing}` : '', o.softcap ? `softcap=${o.softcap}` : '', o.ignoreIndex !== undefined ? `ignoreIndex=${o.ignoreIndex}` : '', d.ignored ? `ignored=${d.ignored}` : '', d.invalid ? 'invalid-target' : '', `range=${d.range}`]
    .filter(Boolean)
    .join(',');
}

function forward(d: Drawn, dtype: FloatDType, seed: number): { logits: HostTensor; targets: HostTensor } {
  const v = d.shape[d.shape.length - 1];
  const targets = randomInts('i32', d.shape.slice(0, -1), seed + 1, 0, v);
  const t = targets.data as Int32Array;
  const ig = d.options.ignoreIndex ?? -100;
  for (let i = 0; i < t.length; i++) if ((i * 0.618) % 1 < d.ignored) t[i] = ig;
  if (d.invalid) t[t.length - 1] = [-1, v, 2 ** 31 - 1][seed % 3];
  return { logits: uniform(dtype, d.shape, seed, -d.range, d.range), targets };
}

export function crossEntropyFuzz(r: Rand): OpCase {
  const d = draw(r);
  return fuzzCase(label(d), d.options, (dtype, seed) => forward(d, dtype, seed));
}

/** The forward's draw plus lse as the forward stores it (f32) and an upstream gradient of the loss's shape. */
export function crossEntropyBackwardFuzz(r: Rand): OpCase {
  const d = draw(r);
  // NaN rows (invalid targets) have no gradient to compare beyond NaN: keep them, they must agree.
  return fuzzCase(label(d), d.options, (dtype, seed) => {
    const f = forward(d, dtype, seed);
    const o: CeOptions = { ignoreIndex: -100, labelSmoothing: 0, reduction: 'mean', ...d.options };
    const ref = crossEntropyRef({ ...f.logits, data: toFloat64(dtype, f.logits.data) }, { ...f.targets, data: toFloat64('i32', f.targets.data) }, o);
    const rows = d.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    return { ...f, lse: { dtype: 'f32' as const, shape: [rows], data: Float32Array.from(ref.lse) }, dloss: uniform('f32', o.reduction === 'none' ? [rows] : [1], seed + 2, -1, 1) };
  });
}
