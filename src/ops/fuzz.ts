import type { FloatDType } from '../dtype.js';
import { rng } from './random.js';
import type { HostTensor, OpCase } from './types.js';

/**
 * The sampling kit of the fuzz generators (each op's `fuzz.ts`): sizes that break kernels —
 * 1, primes, a tile size ± 1, long rows — and small pickers. A generator draws a whole case
 * (shape, options, value ranges) from one stream, so (seed, index, op, dtype) reproduces it.
 */
export type Rand = () => number;

/** An integer in [lo, hi]. */
export const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
export const chance = (r: Rand, p: number): boolean => r() < p;

const PRIMES = [2, 3, 5, 7, 11, 13, 17, 31, 61, 127, 257, 509, 1021, 2039, 4093, 8191];
const TILES = [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

/** A dimension in [1, max]: 1, a prime, a tile size ± 1 or a uniform draw. */
export function dim(r: Rand, max: number): number {
  const u = r();
  if (u < 0.12 || max <= 1) return 1;
  if (u < 0.37) {
    const ps = PRIMES.filter((p) => p <= max);
    if (ps.length) return pick(r, ps);
  }
  if (u < 0.7) {
    const ts = TILES.filter((t) => t + 1 <= max);
    if (ts.length) return Math.max(1, pick(r, ts) + pick(r, [-1, 0, 1]));
  }
  return int(r, 1, max);
}

/** A row length (up to `long`, drawn as a long row a fifth of the time) and a row count within `budget` elements. */
export function rowsAndLength(r: Rand, budget: number, long = 8192, short = 600): [number, number] {
  const n = dim(r, chance(r, 0.2) ? long : short);
  const rows = dim(r, Math.max(1, Math.min(300, Math.floor(budget / n))));
  return [rows, n];
}

/** Leading dimensions with the given product, as rank 1 to 3 (the kernels flatten them). */
export function splitRows(r: Rand, rows: number): number[] {
  if (rows === 1 || chance(r, 0.5)) return [rows];
  for (const d of [2, 3, 5, 7, 4]) if (rows % d === 0 && chance(r, 0.6)) return [d, rows / d];
  return [rows];
}

/** A fuzz case: its label names every drawn choice; `make` draws the values from the seed it is given. */
export function fuzzCase(label: string, options: Record<string, unknown>, make: (dtype: FloatDType, seed: number) => Record<string, HostTensor>): OpCase {
  return { label, options, make };
}

/** The stream of case `index` of op/dtype under `seed`: independent of which other ops or dtypes run. */
export function caseStream(seed: number, index: number, op: string, dtype: string): Rand {
  let h = 2166136261;
  for (const c of `${seed}|${index}|${op}|${dtype}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return rng(h);
}

/** A value range [lo, hi] for float inputs: mostly moderate, sometimes wide. */
export const range = (r: Rand, moderate: number, wide: number): [number, number] => {
  const a = chance(r, 0.25) ? wide : moderate;
  return [-a, a];
};
