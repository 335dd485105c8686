import { toFloat64, type FloatDType } from '../../dtype.js';
import { uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase } from '../types.js';
import { distillForward, type DistillOpts } from './reference.js';

/** One distillation case: student and teacher logits of `shape`, drawn from ±range. */
export interface DistillDef {
  shape: number[];
  options: Partial<DistillOpts>;
  range?: number;
  quick?: boolean;
}

export const DISTILL_DEFS: DistillDef[] = [
  { shape: [1, 1], options: {}, quick: true },
  { shape: [3, 7], options: {}, quick: true },
  { shape: [5, 33], options: { loss: 'reverse_kl', temperature: 2 }, quick: true },
  { shape: [4, 65], options: { loss: 'js', temperature: 0.5 }, quick: true },
  { shape: [6, 100], options: { loss: 'soft_ce' }, quick: true, range: 20 },
  { shape: [2, 3, 50], options: { loss: 'js', reduction: 'none' }, quick: true },
  { shape: [5, 77], options: { loss: 'reverse_kl', reduction: 'sum' }, quick: true, range: 30 },
  { shape: [4, 257], options: { loss: 'kl', temperature: 4, reduction: 'none' }, quick: true },
  // Rows of whole 16-byte words (V % 8 = 0): the one-pass losses' vector loads, an odd word
  // count an invocation (V = 520: 65 f16 words) and rows past two words a lane (V = 4096).
  { shape: [3, 520], options: { loss: 'kl', temperature: 2 }, quick: true, range: 20 },
  { shape: [2, 4096], options: { loss: 'reverse_kl', reduction: 'none' }, quick: true, range: 30 },
  { shape: [5, 96], options: { loss: 'soft_ce', temperature: 0.7, reduction: 'sum' }, quick: true },
  { shape: [3, 32000], options: { loss: 'js', temperature: 2 }, quick: true },
  { shape: [2, 128256], options: { loss: 'kl', temperature: 2 }, range: 30 },
  { shape: [64, 4097], options: { loss: 'reverse_kl', reduction: 'sum' } },
  { shape: [300, 130], options: { loss: 'soft_ce', reduction: 'none', temperature: 0.7 }, range: 16 },
  { shape: [8, 50257], options: { loss: 'js', temperature: 1.5 }, range: 12 },
];

export function distillLabel(d: DistillDef): string {
  const o = d.options;
  return [`shape=${d.shape.join('x')}`, o.loss ?? 'kl', o.temperature ? `T=${o.temperature}` : '', o.reduction ?? 'mean', `range=${d.range ?? 8}`].filter(Boolean).join(',');
}

export function distillInputs(d: DistillDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const r = d.range ?? 8;
  return { student: uniform(dtype, d.shape, seed, -r, r), teacher: uniform(dtype, d.shape, seed + 1, -r, r) };
}

const parsed = (o: Partial<DistillOpts>): DistillOpts => ({ loss: 'kl', temperature: 1, reduction: 'mean', ...o });

/** The forward's inputs, both lse as the forward stores them (f32) and an upstream gradient of the loss's shape. */
export function distillBackwardInputs(d: DistillDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const f = distillInputs(d, dtype, seed);
  const ref = (h: HostTensor) => ({ dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) });
  const o = parsed(d.options);
  const fw = distillForward(ref(f.student), ref(f.teacher), o);
  return {
    ...f,
    studentLse: { dtype: 'f32', shape: [fw.rows], data: Float32Array.from(fw.lseS) },
    teacherLse: { dtype: 'f32', shape: [fw.rows], data: Float32Array.from(fw.lseT) },
    dloss: uniform('f32', o.reduction === 'none' ? [fw.rows] : [1], seed + 2, -1, 1),
  };
}

export const DISTILL_FORWARD_CASES: OpCase[] = DISTILL_DEFS.map((d) => ({ label: distillLabel(d), options: d.options, quick: d.quick, make: (dt, s) => distillInputs(d, dt, s) }));
export const DISTILL_BACKWARD_CASES: OpCase[] = DISTILL_DEFS.map((d) => ({ label: distillLabel(d), options: d.options, quick: d.quick, make: (dt, s) => distillBackwardInputs(d, dt, s) }));

/**
 * Llama-3's vocabulary on a 4096-token batch, every loss: kl (one exp a logit pair), reverse_kl
 * and soft_ce (the same one-pass loop weighted by the other side / one term), js (three exps
 * and a log, and a second read of each row).
 */
const BENCH: DistillDef[] = [
  { shape: [4096, 128256], options: { loss: 'kl', temperature: 2 } },
  { shape: [4096, 128256], options: { loss: 'js', temperature: 2 } },
  { shape: [4096, 128256], options: { loss: 'reverse_kl', temperature: 2 } },
  { shape: [4096, 128256], options: { loss: 'soft_ce', temperature: 2 } },
];
export const DISTILL_FORWARD_BENCH: BenchShape[] = BENCH.map((d) => ({ label: `rows=4096,vocab=128256,${d.options.loss}`, options: d.options, make: (dt, s) => distillInputs(d, dt, s) }));
export const DISTILL_BACKWARD_BENCH: BenchShape[] = BENCH.map((d) => ({
  label: `rows=4096,vocab=128256,${d.options.loss}`,
  options: d.options,
  // The lse only has to be realistic for timing: for x ~ U(−R, R)/τ, E[e^x] = sinh(R/τ)/(R/τ),
  // so lse ≈ log(V·sinh(R/τ)/(R/τ)) for every row (computing it exactly would take 10⁹ exps).
  make: (dt, s) => {
    const a = 8 / 2;
    const lse = Math.log((128256 * Math.sinh(a)) / a);
    const f = distillInputs(d, dt, s);
    const fill = () => ({ dtype: 'f32' as const, shape: [4096], data: new Float32Array(4096).fill(lse) });
    return { ...f, studentLse: fill(), teacherLse: fill(), dloss: { dtype: 'f32' as const, shape: [1], data: Float32Array.of(1) } };
  },
}));
