import type { FloatDType } from '../../dtype.js';
import { randomInts, rng, uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase } from '../types.js';

/**
 * The curated cases both embedding ops share: a forward case id and its backward twin name
 * the same vocabulary, hidden size, ids and options.
 */
export interface EmbCaseDef {
  v: number;
  h: number;
  /** Shape of ids (any leading shape; the output is ids.shape + [H]). */
  ids: number[];
  quick: boolean;
  paddingIdx?: number;
  /** Ids 0..2 replaced by −1, V and 2^31−1 (a zero row, counted in `invalid`). */
  invalid?: boolean;
  /** Ids drawn from the first `hot` rows only: long runs of repeated ids (the backward's chains). */
  hot?: number;
  /** Backward only: accumulate into an existing dW (dwIn) instead of numEmbeddings. */
  accumulate?: boolean;
}

export const EMB_DEFS: EmbCaseDef[] = [
  { v: 1, h: 1, ids: [1], quick: true },
  { v: 10, h: 7, ids: [3, 5], quick: true },
  { v: 50, h: 64, ids: [2, 9], quick: true, hot: 6 },
  { v: 13, h: 33, ids: [2, 3, 4], quick: true, invalid: true },
  { v: 20, h: 16, ids: [40], quick: true, paddingIdx: 3, hot: 5 },
  { v: 20, h: 9, ids: [37], quick: true, paddingIdx: -1, hot: 20, accumulate: true },
  { v: 300, h: 24, ids: [300], quick: true, hot: 2, accumulate: true },
  { v: 5, h: 129, ids: [1, 70], quick: true, invalid: true, paddingIdx: 0 },
  { v: 32000, h: 256, ids: [300], quick: false, invalid: true },
  { v: 1000, h: 4096, ids: [2, 64], quick: false, paddingIdx: 0, hot: 50 },
  { v: 4099, h: 129, ids: [1025], quick: false, hot: 100, accumulate: true },
  { v: 70000, h: 8, ids: [5000], quick: false, paddingIdx: 69999 },
];

export function embLabel(d: EmbCaseDef, backward = false): string {
  const parts = [`V=${d.v},H=${d.h},ids=[${d.ids.join(',')}]`];
  if (d.paddingIdx !== undefined) parts.push(`pad=${d.paddingIdx}`);
  if (d.invalid) parts.push('invalid-ids');
  if (d.hot) parts.push(`hot=${d.hot}`);
  if (backward && d.accumulate) parts.push('dwIn');
  return parts.join(',');
}

/** Ids in [0, V) (or the first `hot` rows), some replaced by ids outside [0, V). */
export function embIds(v: number, shape: number[], seed: number, o: { hot?: number; invalid?: boolean; paddingIdx?: number }): HostTensor {
  const t = randomInts('i32', shape, seed, 0, Math.min(v, o.hot ?? v));
  const data = t.data as Int32Array;
  // Some rows hit the padding index when there is one (its gradient must stay zero).
  if (o.paddingIdx !== undefined) {
    const pad = o.paddingIdx < 0 ? o.paddingIdx + v : o.paddingIdx;
    const r = rng(seed + 7);
    for (let k = 0; k < data.length; k++) if (r() < 0.2) data[k] = pad;
  }
  if (o.invalid) [-1, v, 2 ** 31 - 1].forEach((bad, k) => k < data.length && (data[k] = bad));
  return t;
}

export const EMB_FORWARD_CASES: OpCase[] = EMB_DEFS.map((d) => ({
  label: embLabel(d),
  options: d.paddingIdx !== undefined ? { paddingIdx: d.paddingIdx } : {},
  quick: d.quick,
  make: (dtype: FloatDType, seed: number) => ({ weight: uniform(dtype, [d.v, d.h], seed), ids: embIds(d.v, d.ids, seed + 1, d) }),
}));

export const EMB_BACKWARD_CASES: OpCase[] = EMB_DEFS.map((d) => ({
  label: embLabel(d, true),
  options: { ...(d.paddingIdx !== undefined ? { paddingIdx: d.paddingIdx } : {}), ...(d.accumulate ? {} : { numEmbeddings: d.v }) },
  quick: d.quick,
  make: (dtype: FloatDType, seed: number) => ({
    dy: uniform(dtype, [...d.ids, d.h], seed),
    ids: embIds(d.v, d.ids, seed + 1, d),
    ...(d.accumulate ? { dwIn: uniform('f32', [d.v, d.h], seed + 2) } : {}),
  }),
}));

/** Llama-3-8B's embedding (128256 × 4096) looked up by one 4096-token batch. */
const BENCH_V = 128256;
const BENCH_H = 4096;
const BENCH_T = 4096;

export const EMB_FORWARD_BENCH: BenchShape[] = [
  {
    label: `V=${BENCH_V},H=${BENCH_H},T=${BENCH_T}`,
    options: {},
    make: (dtype, seed) => ({ weight: uniform(dtype, [BENCH_V, BENCH_H], seed), ids: randomInts('i32', [BENCH_T], seed + 1, 0, BENCH_V) }),
  },
];

export const EMB_BACKWARD_BENCH: BenchShape[] = [
  {
    label: `V=${BENCH_V},H=${BENCH_H},T=${BENCH_T}`,
    options: { numEmbeddings: BENCH_V },
    make: (dtype, seed) => ({ dy: uniform(dtype, [BENCH_T, BENCH_H], seed), ids: randomInts('i32', [BENCH_T], seed + 1, 0, BENCH_V) }),
  },
];
