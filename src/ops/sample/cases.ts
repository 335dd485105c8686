import { f32ArrayTo16, type FloatDType } from '../../dtype.js';
import { rng, uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase } from '../types.js';

/** A sampler case: the shape, which per-row options are given, and the kind of logits. */
export interface SampleCaseDef {
  b: number;
  v: number;
  /** Logits uniform in ±range (default 8). */
  range?: number;
  /** Logits rounded to multiples of 1/2 in ±2: many exact ties. */
  ties?: boolean;
  /** Some logits −∞ (and, with b > 2, row 1 entirely): bans and an empty row. */
  masked?: boolean;
  temperature?: boolean;
  topK?: boolean;
  topP?: boolean;
  minP?: boolean;
  penalties?: boolean;
  bias?: boolean;
  offsets?: boolean;
  topLogprobs?: number;
  /** The rowsWithoutTopK hint set to false (rows without a top-k then break it: same tokens). */
  noTopKHint?: boolean;
  quick?: boolean;
}

export function sampleLabel(d: SampleCaseDef): string {
  const on = (['temperature', 'topK', 'topP', 'minP', 'penalties', 'bias', 'offsets', 'ties', 'masked'] as const).filter((k) => d[k]);
  return [`b=${d.b},v=${d.v}`, ...on, d.range ? `range=${d.range}` : '', d.topLogprobs ? `top=${d.topLogprobs}` : '', d.noTopKHint ? 'rowsWithoutTopK=false' : ''].filter(Boolean).join(',');
}

const f32 = (shape: number[], values: number[]): HostTensor => ({ dtype: 'f32', shape, data: Float32Array.from(values) });
const i32 = (shape: number[], values: number[]): HostTensor => ({ dtype: 'i32', shape, data: Int32Array.from(values) });

/**
 * Inputs: per-row options cycle through typical and edge values so one batch mixes requests
 * (greedy rows, disabled filters, k = 1, p near 0, extreme penalties, …).
 */
export function sampleInputs(d: SampleCaseDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const { b, v } = d;
  const r = rng(seed + 3);
  const logits = uniform('f32', [b, v], seed, -(d.range ?? 8), d.range ?? 8).data as Float32Array;
  if (d.ties) for (let i = 0; i < logits.length; i++) logits[i] = Math.round(logits[i] / 2) / 2;
  if (d.masked) {
    for (let i = 0; i < logits.length; i++) if (r() < 0.3) logits[i] = -Infinity;
    if (b > 2) logits.fill(-Infinity, v, 2 * v);
  }
  const out: Record<string, HostTensor> = {
    logits: { dtype, shape: [b, v], data: dtype === 'f32' ? logits : f32ArrayTo16(dtype, logits) },
    seeds: { dtype: 'u32', shape: [b, 2], data: Uint32Array.from({ length: 2 * b }, () => Math.floor(r() * 2 ** 32)) },
  };
  const row = (vals: number[]) => Array.from({ length: b }, (_, j) => vals[(j + seed) % vals.length]);
  if (d.offsets) out.offsets = { dtype: 'u32', shape: [b], data: Uint32Array.from({ length: b }, () => Math.floor(r() * 2 ** 32)) };
  if (d.temperature) out.temperature = f32([b], row([0.7, 0, 1.3, 0.05, 1, 2.5, -1]));
  if (d.topK) out.topK = i32([b], row([50, 1, 0, 5, v, 2, -3]));
  if (d.topP) out.topP = f32([b], row([0.9, 1, 0.5, 0.01, 0.999, 0, 0.3]));
  if (d.minP) out.minP = f32([b], row([0.05, 0, 0.2, 1, 0.001]));
  if (d.penalties) {
    out.repetitionPenalty = f32([b], row([1.2, 1, 0.8, 2, 1.05]));
    out.presencePenalty = f32([b], row([0.5, 0, -0.5, 1.5]));
    out.frequencyPenalty = f32([b], row([0.3, 0, 0.1, -0.2, 1]));
  }
  if (d.penalties || d.bias) {
    // Counts: most tokens unseen, some seen a few times, a few many times.
    out.counts = i32([b, v], Array.from({ length: b * v }, () => (r() < 0.7 ? 0 : r() < 0.8 ? 1 + Math.floor(r() * 3) : Math.floor(r() * 100))));
  }
  if (d.bias) out.logitBias = f32([b, v], Array.from({ length: b * v }, () => (r() < 0.8 ? 0 : r() < 0.1 ? -Infinity : (r() - 0.5) * 10)));
  return out;
}

export function sampleCase(d: SampleCaseDef): OpCase {
  const options = { ...(d.topLogprobs ? { topLogprobs: d.topLogprobs } : {}), ...(d.noTopKHint ? { rowsWithoutTopK: false } : {}) };
  return { label: sampleLabel(d), options, quick: d.quick, make: (dtype, seed) => sampleInputs(d, dtype, seed) };
}

const ALL = { temperature: true, topK: true, topP: true, minP: true };
const DEFS: SampleCaseDef[] = [
  { b: 1, v: 1, quick: true },
  { b: 3, v: 17, quick: true },
  { b: 7, v: 100, ...ALL, quick: true, topLogprobs: 3 },
  { b: 7, v: 64, ...ALL, ties: true, quick: true, topLogprobs: 5 },
  { b: 5, v: 300, ...ALL, penalties: true, bias: true, offsets: true, quick: true, topLogprobs: 2 },
  { b: 4, v: 50, ...ALL, masked: true, quick: true, topLogprobs: 4 },
  { b: 7, v: 1000, ...ALL, range: 30, quick: true },
  { b: 7, v: 5000, ...ALL, offsets: true, noTopKHint: true, quick: true, topLogprobs: 3 },
  { b: 2, v: 4097, ...ALL, ties: true, offsets: true, quick: true, topLogprobs: 20 },
  { b: 6, v: 257, temperature: true, minP: true, penalties: true, quick: true },
  // Three distinct logits over 8000 tokens: the top-k boundary ties with more tokens than the
  // kernels gather into workgroup memory, so top-p and the draw pass over the vocabulary.
  { b: 3, v: 8000, ...ALL, ties: true, range: 3, quick: true },
  { b: 7, v: 32000, ...ALL, penalties: true, bias: true },
  { b: 2, v: 151936, ...ALL, topLogprobs: 8 },
  { b: 64, v: 2048, ...ALL, masked: true, offsets: true },
];

export const SAMPLE_CASES: OpCase[] = DEFS.map(sampleCase);

/**
 * The shapes: B = 1 and 32 at V = 128256 and 151936, temperature 0.7 with top-k 50 and
 * top-p 0.9 (rows drawn from the merged top-k candidates), with a topK tensor of zeros and
 * top-p 0.9 (rows without top-k: the weight bins of sample_mass), and at V = 128256 with
 * temperature alone (no topK or topP tensor); and the top-k rows again with the rowsWithoutTopK
 * hint (false) that the decode loop gives.
 */
const benchShape = (b: number, v: number, k: number | undefined, p: number | undefined, hint = false): BenchShape => ({
  label: [`b=${b},v=${v}`, k === undefined ? '' : `topK=${k}`, p === undefined ? '' : `topP=${p}`, 'temperature=0.7', hint ? 'rowsWithoutTopK=false' : ''].filter(Boolean).join(','),
  options: hint ? { rowsWithoutTopK: false } : {},
  make: (dtype: FloatDType, seed: number) => {
    const x = sampleInputs({ b, v }, dtype, seed);
    return {
      ...x,
      temperature: f32([b], new Array(b).fill(0.7)),
      ...(k === undefined ? {} : { topK: i32([b], new Array(b).fill(k)) }),
      ...(p === undefined ? {} : { topP: f32([b], new Array(b).fill(p)) }),
    };
  },
});
export const SAMPLE_BENCH: BenchShape[] = [
  ...[1, 32].flatMap((b) => [128256, 151936].map((v) => benchShape(b, v, 50, 0.9))),
  ...[1, 32].flatMap((b) => [128256, 151936].map((v) => benchShape(b, v, 0, 0.9))),
  ...[1, 32].map((b) => benchShape(b, 128256, undefined, undefined)),
  // The decode loop's call when every row keeps a top-k: no weight-bin pass.
  ...[1, 32].map((b) => benchShape(b, 128256, 50, 0.9, true)),
];
