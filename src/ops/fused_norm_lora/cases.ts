import { toFloat64, type FloatDType } from '../../dtype.js';
import { loraOptions, type LoraDef } from '../fused_lora_forward/cases.js';
import { uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase, RefTensor } from '../types.js';
import { normLoraForwardRef, type NormLoraOpts } from './reference.js';

/** A fused_norm_lora case: the LoRA problem (x [...lead, K], W [N, K], A [r, K], B [N, r]) and RMSNorm's eps. */
export interface NormLoraDef extends LoraDef {
  eps?: number;
}

/** K and N off every tile; ranks 1 to 256; a row of all-equal tiny values where eps matters. */
export const NORM_LORA_DEFS: NormLoraDef[] = [
  { lead: [1], k: 1, n: 1, r: 1, quick: true },
  { lead: [7], k: 33, n: 17, r: 4, bias: true, quick: true },
  { lead: [5], k: 64, n: 40, r: 8, dropout: 0.25, seed: 3, accumulate: true, quick: true },
  { lead: [2, 3], k: 20, n: 9, r: 2, alpha: 4, eps: 1e-2, quick: true },
  { lead: [9], k: 65, n: 31, r: 16, alpha: 32, dropout: 0.5, seed: 7, bias: true, quick: true },
  { lead: [70], k: 72, n: 66, r: 32, dropout: 0.1, seed: 11, accumulate: true, quick: true },
  { lead: [4], k: 300, n: 3, r: 256, alpha: 16, quick: true },
  // Aligned (K, N, r multiples of 8) with a long reduction over few output tiles: on the
  // subgroup-matrix tier the normalised products split K (the forward's xa and y over K =
  // 512; the backward's dA over T = 512, dAIn through the split's reduce).
  { lead: [24], k: 512, n: 48, r: 16, dropout: 0.1, seed: 9, bias: true, quick: true },
  { lead: [512], k: 64, n: 16, r: 8, dropout: 0.2, seed: 13, accumulate: true, quick: true },
  { lead: [64], k: 1024, n: 1000, r: 64, alpha: 128, dropout: 0.1, seed: 5 },
  { lead: [2, 64], k: 515, n: 2049, r: 16, bias: true, accumulate: true, eps: 1e-5 },
  { lead: [33], k: 4096, n: 64, r: 128, dropout: 0.05, seed: 1 },
];

export const normLoraOptions = (d: NormLoraDef, backward: boolean): Record<string, unknown> => ({
  ...loraOptions(d, backward),
  ...(!backward && d.eps !== undefined ? { eps: d.eps } : {}),
});

export function normLoraLabel(d: NormLoraDef, backward: boolean): string {
  return [`x=[${[...d.lead, d.k]}],n=${d.n},r=${d.r}`, ...Object.entries(normLoraOptions(d, backward)).map(([k, v]) => `${k}=${v}`), d.bias && !backward ? 'bias' : ''].filter(Boolean).join(',');
}

export function normLoraForwardInputs(d: NormLoraDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  return {
    x: uniform(dtype, [...d.lead, d.k], seed, -2, 2),
    gamma: uniform(dtype, [d.k], seed + 1, 0.5, 1.5),
    weight: uniform(dtype, [d.n, d.k], seed + 2, -0.5, 0.5),
    loraA: uniform(dtype, [d.r, d.k], seed + 3, -0.5, 0.5),
    loraB: uniform(dtype, [d.n, d.r], seed + 4, -0.5, 0.5),
    ...(d.bias ? { bias: uniform(dtype, [d.n], seed + 5) } : {}),
  };
}

const ref = (h: HostTensor): RefTensor => ({ dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) });

/** The forward's inputs (bias aside), dy, the saved rstd and xa as the forward stores them (f32), and dA/dB to add into. */
export function normLoraBackwardInputs(d: NormLoraDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const { bias: _bias, ...f } = normLoraForwardInputs(d, dtype, seed);
  const o: NormLoraOpts = { alpha: d.alpha, dropout: d.dropout ?? 0, seed: d.seed ?? 0, eps: d.eps ?? 1e-6 };
  const fw = normLoraForwardRef({ x: ref(f.x), gamma: ref(f.gamma), weight: ref(f.weight), loraA: ref(f.loraA), loraB: ref(f.loraB) }, o);
  return {
    dy: uniform(dtype, [...d.lead, d.n], seed + 6),
    ...f,
    rstd: { dtype: 'f32', shape: d.lead, data: Float32Array.from(fw.rstd) },
    xa: { dtype: 'f32', shape: [...d.lead, d.r], data: Float32Array.from(fw.xa) },
    ...(d.accumulate ? { dAIn: uniform('f32', [d.r, d.k], seed + 7), dBIn: uniform('f32', [d.n, d.r], seed + 8) } : {}),
  };
}

export const NORM_LORA_CASES: OpCase[] = NORM_LORA_DEFS.map((d) => ({ label: normLoraLabel(d, false), options: normLoraOptions(d, false), quick: d.quick, make: (dt, s) => normLoraForwardInputs(d, dt, s) }));
export const NORM_LORA_BACKWARD_CASES: OpCase[] = NORM_LORA_DEFS.map((d) => ({ label: normLoraLabel(d, true), options: normLoraOptions(d, true), quick: d.quick, make: (dt, s) => normLoraBackwardInputs(d, dt, s) }));

/** Llama-3-8B's input norm feeding the q projection (hidden 4096 → 4096) and the MLP's up projection (4096 → 14336), T = 4096, r = 16. */
const BENCH: NormLoraDef[] = [4096, 14336].map((n) => ({ lead: [4096], k: 4096, n, r: 16, alpha: 32, dropout: 0.05, seed: 1 }));

export const NORM_LORA_BENCH: BenchShape[] = BENCH.map((d) => ({ label: `T=4096,K=4096,N=${d.n},r=${d.r}`, options: normLoraOptions(d, false), make: (dt, s) => normLoraForwardInputs(d, dt, s) }));
export const NORM_LORA_BACKWARD_BENCH: BenchShape[] = BENCH.map((d) => ({
  label: `T=4096,K=4096,N=${d.n},r=${d.r}`,
  options: normLoraOptions(d, true),
  // rstd and xa only have to be realistic for timing: random f32 values of their shapes
  // (the forward in float64 would take ~10¹¹ multiply-adds on the host).
  make: (dt, s) => {
    const { bias: _bias, ...f } = normLoraForwardInputs(d, dt, s);
    return { dy: uniform(dt, [...d.lead, d.n], s + 6), ...f, rstd: uniform('f32', d.lead, s + 7, 0.5, 1.5), xa: uniform('f32', [...d.lead, d.r], s + 8) };
  },
}));
