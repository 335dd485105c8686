import { toFloat64, type FloatDType } from '../../dtype.js';
import { randomInts, uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase } from '../types.js';
import { crossEntropyRef, type CeOptions } from './reference.js';

/**
 * The curated cases both cross-entropy ops share (the backward adds lse and dloss to the
 * same inputs), so a forward case id and its backward twin name the same shape class.
 */
interface CeCaseDef {
  /** Logits shape: [T, V] or [B, S, V]. */
  shape: number[];
  options: Partial<CeOptions>;
  quick: boolean;
  /** Logits drawn uniformly from [-range, range]. */
  range?: number;
  /** Which rows get the ignore index: every third, all, or none. */
  ignore?: 'some' | 'all';
  /** Rows 0..2 get targets outside [0, V): −1, V, 2^31−1 (defined to give NaN). */
  invalid?: boolean;
  tag?: string;
}

const DEFS: CeCaseDef[] = [
  { shape: [1, 1], options: {}, quick: true },
  { shape: [7, 33], options: {}, quick: true, ignore: 'some' },
  { shape: [5, 1000], options: {}, quick: true },
  { shape: [4, 257], options: { labelSmoothing: 0.1 }, quick: true },
  { shape: [6, 300], options: { softcap: 30 }, quick: true, range: 60 },
  { shape: [5, 77], options: { reduction: 'sum' }, quick: true, ignore: 'some' },
  { shape: [5, 77], options: { reduction: 'none' }, quick: true, ignore: 'some' },
  { shape: [4, 50], options: {}, quick: true, ignore: 'all', tag: 'all-ignored' },
  { shape: [4, 50], options: { reduction: 'none' }, quick: true, ignore: 'all', tag: 'all-ignored' },
  { shape: [6, 40], options: { reduction: 'none' }, quick: true, invalid: true },
  { shape: [6, 40], options: { reduction: 'sum' }, quick: true, invalid: true },
  { shape: [8, 19], options: { ignoreIndex: 3, reduction: 'none' }, quick: true, range: 20 },
  { shape: [2, 3, 65], options: { reduction: 'none', labelSmoothing: 0.05 }, quick: true },
  { shape: [9, 515], options: { softcap: 15, labelSmoothing: 0.2 }, quick: true, range: 40, ignore: 'some' },
  { shape: [3, 32000], options: { labelSmoothing: 0.1 }, quick: true, ignore: 'some' },
  // |x/cap| up to 30: sech² down to 4e^-60, where 1 − tanh² is 0 in float64 (the
  // reference's slope must be the exact sech², as the kernels' is).
  { shape: [4, 64], options: { softcap: 2, reduction: 'none' }, quick: true, range: 60 },
  // exp(z − lse) far below 2^-126: subnormal (or flushed) probabilities in the backward.
  { shape: [3, 200], options: { reduction: 'none' }, quick: true, range: 100 },
  { shape: [2, 128256], options: { softcap: 30, labelSmoothing: 0.1 }, quick: false, range: 40 },
  { shape: [2, 128256], options: { reduction: 'none' }, quick: false, range: 16 },
  { shape: [300, 130], options: { reduction: 'none', softcap: 5 }, quick: false, ignore: 'some' },
  { shape: [64, 4097], options: { reduction: 'sum', labelSmoothing: 0.3 }, quick: false, range: 30 },
];

const rowsOf = (shape: number[]) => shape.slice(0, -1).reduce((a, b) => a * b, 1);

function label(d: CeCaseDef): string {
  const o = d.options;
  const parts = [`shape=${d.shape.join('x')}`, o.reduction ?? 'mean'];
  if (o.labelSmoothing) parts.push(`smooth=${o.labelSmoothing}`);
  if (o.softcap) parts.push(`softcap=${o.softcap}`);
  if (o.ignoreIndex !== undefined) parts.push(`ignoreIndex=${o.ignoreIndex}`);
  if (d.ignore) parts.push(d.ignore === 'all' ? 'all-ignored' : 'ignore');
  if (d.invalid) parts.push('invalid-targets');
  if (d.range) parts.push(`range=${d.range}`);
  return parts.join(',');
}

function targetsFor(d: CeCaseDef, seed: number): HostTensor {
  const v = d.shape[d.shape.length - 1];
  const lead = d.shape.slice(0, -1);
  const t = randomInts('i32', lead, seed, 0, v);
  const data = t.data as Int32Array;
  const ig = d.options.ignoreIndex ?? -100;
  for (let r = 0; r < data.length; r++) {
    if (d.ignore === 'all' || (d.ignore === 'some' && r % 3 === 1)) data[r] = ig;
    // A custom in-range ignore index: make sure some rows hit it.
    if (d.options.ignoreIndex !== undefined && r % 4 === 0) data[r] = ig;
  }
  if (d.invalid) [-1, v, 2 ** 31 - 1].forEach((bad, r) => (data[r] = bad));
  return t;
}

const forwardInputs = (d: CeCaseDef, dtype: FloatDType, seed: number) => ({
  logits: uniform(dtype, d.shape, seed, -(d.range ?? 8), d.range ?? 8),
  targets: targetsFor(d, seed + 1),
});

export const CE_FORWARD_CASES: OpCase[] = DEFS.map((d) => ({
  label: label(d),
  options: d.options,
  quick: d.quick,
  make: (dtype, seed) => forwardInputs(d, dtype, seed),
}));

/**
 * Backward twins: the forward inputs, lse as the forward stores it (f32, so the reference
 * sees the rounded value the kernel reads) and an upstream gradient of the loss's shape.
 */
export const CE_BACKWARD_CASES: OpCase[] = DEFS.map((d) => ({
  label: label(d),
  options: d.options,
  quick: d.quick,
  make: (dtype, seed) => {
    const f = forwardInputs(d, dtype, seed);
    const o: CeOptions = { ignoreIndex: -100, labelSmoothing: 0, reduction: 'mean', ...d.options };
    const ref = crossEntropyRef(
      { ...f.logits, data: toFloat64(dtype, f.logits.data) },
      { ...f.targets, data: toFloat64('i32', f.targets.data) },
      o,
    );
    const rows = rowsOf(d.shape);
    return {
      ...f,
      lse: { dtype: 'f32' as const, shape: [rows], data: Float32Array.from(ref.lse) },
      dloss: uniform('f32', o.reduction === 'none' ? [rows] : [1], seed + 2, -1, 1),
    };
  },
}));

const BENCH = [
  [8192, 128256],
  [4096, 32000],
] as const;
const BENCH_RANGE = 8;

export const CE_FORWARD_BENCH: BenchShape[] = BENCH.map(([t, v]) => ({
  label: `rows=${t},vocab=${v}`,
  options: {},
  make: (dtype, seed) => ({ logits: uniform(dtype, [t, v], seed, -BENCH_RANGE, BENCH_RANGE), targets: randomInts('i32', [t], seed + 1, 0, v) }),
}));

export const CE_BACKWARD_BENCH: BenchShape[] = BENCH.map(([t, v]) => ({
  label: `rows=${t},vocab=${v}`,
  options: {},
  make: (dtype, seed) => {
    // lse only has to be realistic for timing: for z ~ U(−R, R), E[e^z] = sinh(R)/R, so
    // lse ≈ log(V·sinh(R)/R) for every row (computing it exactly would take 10⁹ exps).
    const lse = Math.log((v * Math.sinh(BENCH_RANGE)) / BENCH_RANGE);
    return {
      logits: uniform(dtype, [t, v], seed, -BENCH_RANGE, BENCH_RANGE),
      targets: randomInts('i32', [t], seed + 1, 0, v),
      lse: { dtype: 'f32' as const, shape: [t], data: new Float32Array(t).fill(lse) },
      dloss: { dtype: 'f32' as const, shape: [1], data: Float32Array.of(1) },
    };
  },
}));
