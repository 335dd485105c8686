import { f32ArrayTo16, fromFloat64, type FloatDType } from '../../dtype.js';
import { uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase } from '../types.js';

/** One AdamW case: a flat parameter list and what the step is asked to do with it. */
export interface AdamwDef {
  /** Segment sizes (the parameter list); their sum is P. A single entry without `groups` means no segment table. */
  sizes: number[];
  /** Per segment (lrScale, wdScale): a segment table is passed when given. */
  groups?: [number, number][];
  options?: Record<string, unknown>;
  /** Device scalars (lr, step). */
  scalars?: [number, number];
  /** A gradient element set to +inf / NaN (the step is skipped, flag 1). */
  nonfinite?: 'inf' | 'nan';
  /** A segment table whose last offset is not P (flag 2). */
  badTable?: boolean;
  /** f32 gradients for f16/bf16 parameters. */
  gradsF32?: boolean;
  /** Gradient range ±g (default 1). */
  g?: number;
  /** An accumulated `flag` input holding these bits (OR-ed into by the call, in place). */
  flagIn?: number;
  /** A `normSq` input: Σg² of a larger list this call is part of (its own Σg² × this factor), or a non-finite value. */
  normSq?: number | 'nan';
  quick?: boolean;
}

export function adamwLabel(d: AdamwDef): string {
  const p = d.sizes.reduce((a, b) => a + b, 0);
  const parts = [`P=${p}`];
  if (d.groups) parts.push(`segments=${d.sizes.length}`);
  for (const [k, v] of Object.entries(d.options ?? {})) parts.push(`${k}=${v}`);
  if (d.scalars) parts.push(`scalars=${d.scalars.join('/')}`);
  if (d.nonfinite) parts.push(`grad-${d.nonfinite}`);
  if (d.badTable) parts.push('bad-table');
  if (d.gradsF32) parts.push('grads-f32');
  if (d.g) parts.push(`g=±${d.g}`);
  if (d.flagIn !== undefined) parts.push(`flag-in=${d.flagIn}`);
  if (d.normSq !== undefined) parts.push(`norm-sq=${d.normSq === 'nan' ? 'nan' : `×${d.normSq}`}`);
  return parts.join(',');
}

/** An element of a host tensor set to a float64 value (rounded to its dtype). */
function setValue(t: HostTensor, k: number, x: number): void {
  (t.data as Float32Array | Uint16Array)[k] = t.dtype === 'f32' ? x : fromFloat64(t.dtype, [x])[0];
}

export function adamwInputs(d: AdamwDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const p = d.sizes.reduce((a, b) => a + b, 0);
  const out: Record<string, HostTensor> = {};
  if (dtype === 'f32') out.params = uniform('f32', [p], seed);
  else {
    const master = uniform('f32', [p], seed);
    out.master = master;
    // The model's copy: master rounded (the kernels re-derive it from master anyway).
    out.params = { dtype, shape: [p], data: f32ArrayTo16(dtype, master.data as Float32Array) };
  }
  const g = d.g ?? 1;
  out.grads = uniform(d.gradsF32 ? 'f32' : dtype, [p], seed + 1, -g, g);
  if (d.nonfinite) setValue(out.grads, Math.floor(p / 2), d.nonfinite === 'inf' ? Infinity : NaN);
  out.m = uniform('f32', [p], seed + 2, -0.1, 0.1);
  out.v = uniform('f32', [p], seed + 3, 0, 0.01);
  if (d.groups) {
    const off = new Int32Array(d.sizes.length + 1);
    d.sizes.forEach((s, k) => (off[k + 1] = off[k] + s));
    if (d.badTable) off[d.sizes.length] = p + 1;
    out.segments = { dtype: 'i32', shape: [off.length], data: off };
    out.groups = { dtype: 'f32', shape: [d.groups.length, 2], data: Float32Array.from(d.groups.flat()) };
  }
  if (d.scalars) out.scalars = { dtype: 'f32', shape: [2], data: Float32Array.from(d.scalars) };
  if (d.flagIn !== undefined) out.flag = { dtype: 'i32', shape: [1], data: Int32Array.of(d.flagIn) };
  if (d.normSq !== undefined) {
    // The rest of the list's gradients: Σg² of this call's (as drawn, f32) times the factor.
    let own = 0;
    const gv = out.grads.dtype === 'f32' ? Array.from(out.grads.data as Float32Array) : [];
    for (const x of gv) own += x * x;
    const v = d.normSq === 'nan' ? NaN : (gv.length ? own : p / 3) * d.normSq;
    out.normSq = { dtype: 'f32', shape: [1], data: Float32Array.of(v) };
  }
  return out;
}

export const ADAMW_DEFS: AdamwDef[] = [
  { sizes: [1], quick: true },
  { sizes: [7], options: { step: 3 }, quick: true },
  { sizes: [1000], options: { lr: 0.01, weightDecay: 0.1, step: 10 }, quick: true },
  { sizes: [513], options: { maxGradNorm: 1 }, g: 2, quick: true },
  { sizes: [300], options: { maxGradNorm: 1e3 }, quick: true },
  { sizes: [100, 0, 37, 250], groups: [[1, 1], [2, 0], [0.5, 0], [1, 1]], options: { maxGradNorm: 0.5, step: 7 }, quick: true },
  { sizes: [257], scalars: [3e-3, 25], options: { beta1: 0.8, beta2: 0.95, eps: 1e-6 }, quick: true },
  { sizes: [65], scalars: [1e-3, 1000], quick: true },
  { sizes: [129], nonfinite: 'inf', options: { maxGradNorm: 1 }, quick: true },
  { sizes: [130], nonfinite: 'nan', quick: true },
  { sizes: [40, 60], groups: [[1, 1], [1, 0]], badTable: true, quick: true },
  { sizes: [99], scalars: [1e-3, 0.5], quick: true },
  { sizes: [333], gradsF32: true, options: { step: 2, weightDecay: 0 }, quick: true },
  // In place (the state tensors updated in their own storage; the reference works on copies),
  // and the accumulated flag: an earlier call's bits kept, a skip in place writing nothing.
  { sizes: [1000], options: { lr: 0.01, weightDecay: 0.1, step: 10, inPlace: true }, quick: true },
  { sizes: [100, 0, 37, 250], groups: [[1, 1], [2, 0], [0.5, 0], [1, 1]], options: { maxGradNorm: 0.5, step: 7, inPlace: true }, quick: true },
  { sizes: [257], scalars: [3e-3, 25], options: { inPlace: true }, flagIn: 2, quick: true },
  { sizes: [129], nonfinite: 'inf', options: { inPlace: true }, flagIn: 4, quick: true },
  { sizes: [333], gradsF32: true, options: { step: 2, inPlace: true }, quick: true },
  { sizes: [65], scalars: [1e-3, 1000], flagIn: 1, quick: true },
  // A list split across calls (the LoRA trainer's adapters): the clip factor from the whole
  // list's Σg² (normSq), the step skipped when it is not finite.
  { sizes: [513], options: { maxGradNorm: 1, inPlace: true }, g: 2, normSq: 40, quick: true },
  { sizes: [100, 0, 37, 250], groups: [[1, 1], [2, 0], [0.5, 0], [1, 1]], options: { maxGradNorm: 0.5, step: 7 }, normSq: 3, quick: true },
  { sizes: [257], scalars: [3e-3, 25], options: { maxGradNorm: 1e3, inPlace: true }, flagIn: 2, normSq: 0.5, quick: true },
  { sizes: [129], options: { maxGradNorm: 1, inPlace: true }, normSq: 'nan', quick: true },
  { sizes: [1 << 17], options: { maxGradNorm: 1, step: 100, inPlace: true } },
  { sizes: [1 << 17], options: { maxGradNorm: 1, step: 100 } },
  { sizes: [5000, 3, 70000, 1, 20000], groups: [[1, 1], [1, 0], [0.1, 1], [3, 0], [1, 1]], options: { lr: 3e-4, maxGradNorm: 0.1, step: 100000 }, g: 0.01 },
  { sizes: [100003], scalars: [2e-4, 16777216], gradsF32: true },
];

export const ADAMW_CASES: OpCase[] = ADAMW_DEFS.map((d) => ({
  label: adamwLabel(d),
  options: d.options ?? {},
  quick: d.quick,
  make: (dtype, seed) => adamwInputs(d, dtype, seed),
}));

/** Llama-3-8B's LoRA adapters (r = 16) on q, k, v, o, gate, up, down of one layer: A [r, in], B [out, r]. */
const LORA_LAYER = (() => {
  const r = 16;
  const proj: [number, number][] = [
    [4096, 4096],
    [4096, 1024],
    [4096, 1024],
    [4096, 4096],
    [4096, 14336],
    [4096, 14336],
    [14336, 4096],
  ];
  return proj.flatMap(([inF, outF]) => [r * inF, outF * r]);
})();

/**
 * Llama-3.2-1B's 16 decoder layers and final norm (q, k, v, o, gate, up, down, two norms a
 * layer): 145 tensors, 973M parameters. The 128256 × 2048 embedding is left out: with it the
 * f32 moments (1.24B × 4 bytes) would exceed WebGPU's 4 GiB maxBufferSize.
 */
const LLAMA_1B = (() => {
  const h = 2048;
  const kv = 512;
  const ff = 8192;
  const layer = [h * h, kv * h, kv * h, h * h, ff * h, ff * h, h * ff, h, h];
  return [...Array.from({ length: 16 }, () => layer).flat(), h];
})();

function benchDef(sizes: number[], decayNorms: boolean): AdamwDef {
  // Norm weights (size 2048) get no weight decay, as usual in LLM training.
  return { sizes, groups: sizes.map((s) => [1, decayNorms || s !== 2048 ? 1 : 0]), options: { lr: 1e-4, maxGradNorm: 1, step: 100 }, g: 0.01 };
}

export const ADAMW_BENCH: BenchShape[] = [
  { d: benchDef(LORA_LAYER, true), label: 'lora-r16-llama3-8b-layer' },
  { d: benchDef(LLAMA_1B, false), label: 'llama3.2-1b-layers' },
  // The trainer's form: the state updated in its own buffers (no outputs allocated).
  { d: { ...benchDef(LORA_LAYER, true), options: { ...benchDef(LORA_LAYER, true).options, inPlace: true } }, label: 'lora-r16-llama3-8b-layer,in-place' },
].map(({ d, label }) => ({ label: `${label},P=${d.sizes.reduce((a, b) => a + b, 0)},segments=${d.sizes.length}`, options: d.options ?? {}, make: (dtype, seed) => adamwInputs(d, dtype, seed) }));
