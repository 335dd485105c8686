import { fromFloat64, toFloat64, type FloatDType } from '../../dtype.js';
import { uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase, RefTensor } from '../types.js';
import { PROJS, mlpForwardRef, weightName, type MlpInputs, type Proj } from './reference.js';

/**
 * A fused_mlp case: x [...lead, K], W_gate/W_up [I, K], W_down [N, I] (N = K in a transformer
 * block; free here), and a LoRA rank for each adapted projection.
 */
export interface MlpDef {
  lead: number[];
  k: number;
  i: number;
  n?: number;
  ranks: Partial<Record<Proj, number>>;
  alpha?: number;
  dropout?: number;
  seed?: number;
  /** Backward: add into existing dA / dB. */
  accumulate?: boolean;
  /** false: the forward saves g and u and the backward reads them. */
  recompute?: boolean;
  /** The forward's norm prologue: normWeight alone ('norm') or with a residual ('norm+res'). */
  norm?: 'norm' | 'norm+res';
  /** The prologue's eps (the op's default when undefined). */
  eps?: number;
  quick?: boolean;
}

/** K and I off every tile; LoRA on none, some and all projections; ranks 1 to 64; dropout. */
export const MLP_DEFS: MlpDef[] = [
  { lead: [1], k: 1, i: 1, ranks: {}, quick: true },
  { lead: [7], k: 33, i: 17, ranks: { gate: 4, up: 4, down: 4 }, quick: true },
  { lead: [5], k: 20, i: 40, n: 9, ranks: { down: 2 }, dropout: 0.25, seed: 3, accumulate: true, quick: true },
  { lead: [2, 3], k: 65, i: 31, ranks: { gate: 8 }, alpha: 16, recompute: false, quick: true },
  { lead: [9], k: 24, i: 72, ranks: { gate: 1, up: 16, down: 8 }, alpha: 4, dropout: 0.5, seed: 7, accumulate: true, quick: true },
  { lead: [3], k: 40, i: 66, ranks: { up: 4, down: 4 }, dropout: 0.1, seed: 2 ** 32 - 2, recompute: false, quick: true },
  // Decode sizes (M = 1, 3, 8, 16) without LoRA on gate/up: webgpu's one-dispatch gate/up
  // GEMV (launchers/mlp_gemv.ts). K a whole number of 16-byte words (its precondition) but
  // a multiple of no tile: one word short of, or one past, the workgroup's 256 (f16/bf16:
  // 8 per word, f32: 4); I odd (a last workgroup with one column); g and u returned too.
  { lead: [1], k: 200, i: 37, ranks: {}, quick: true },
  { lead: [3], k: 136, i: 45, n: 19, ranks: {}, recompute: false, quick: true },
  { lead: [8], k: 2056, i: 21, n: 24, ranks: { down: 4 }, quick: true },
  { lead: [2, 8], k: 520, i: 75, n: 33, ranks: {}, recompute: false, quick: true },
  { lead: [40], k: 130, i: 200, ranks: {}, recompute: false },
  // Prefill sizes on webgpu's subgroup-matrix tier (no gate/up LoRA, recompute): the gate/up
  // pair in one gemm_sgmat_vec dispatch (GU, launchers/gu_gemm.ts) — two row tiles (the
  // second ragged), I = 300 over three tiles of h columns (the last ragged), a down adapter.
  { lead: [200], k: 264, i: 300, ranks: { down: 4 }, quick: true },
  { lead: [64], k: 256, i: 700, ranks: { gate: 16, up: 16, down: 16 }, alpha: 32, dropout: 0.05, seed: 5 },
  { lead: [2, 33], k: 515, i: 1030, ranks: { gate: 64, up: 64, down: 64 }, alpha: 64, accumulate: true },
  // The norm prologue (normWeight, with and without residual): at decode sizes (T = 1, 3, 16;
  // K whole 16-byte words of f32 and f16/bf16 but one word off the workgroup's, I odd) webgpu
  // computes rstd and n inside the gate/up GEMV (at T ≤ 2 by default; PMETAL_MLP_NORM_VARIANT
  // all takes T ≤ 16, split none); T = 40 and K = 100 (not whole words), or gate/up LoRA, take
  // one rms_norm dispatch first. n then feeds the same plans as x does without a norm.
  { lead: [1], k: 2056, i: 37, n: 24, ranks: {}, norm: 'norm+res', quick: true },
  { lead: [1], k: 248, i: 21, ranks: {}, norm: 'norm', eps: 1e-5, quick: true },
  { lead: [3], k: 136, i: 45, n: 19, ranks: {}, norm: 'norm+res', recompute: false, quick: true },
  { lead: [2, 8], k: 264, i: 31, ranks: { down: 2 }, norm: 'norm', quick: true },
  { lead: [16], k: 200, i: 25, ranks: {}, norm: 'norm+res', quick: true },
  { lead: [40], k: 136, i: 45, ranks: {}, norm: 'norm+res', quick: true },
  { lead: [5], k: 100, i: 33, ranks: { gate: 4 }, norm: 'norm+res', dropout: 0.25, seed: 9, quick: true },
];

export const mlpOptions = (d: MlpDef, backward: boolean): Record<string, unknown> => ({
  ...(d.alpha !== undefined ? { alpha: d.alpha } : {}),
  ...(d.dropout !== undefined ? { dropout: d.dropout } : {}),
  ...(d.seed !== undefined ? { seed: d.seed } : {}),
  ...(d.recompute === false ? { recompute: false } : {}),
  ...(backward && d.accumulate ? { accumulate: true } : {}),
  ...(!backward && d.eps !== undefined ? { eps: d.eps } : {}),
});

export function mlpLabel(d: MlpDef, backward: boolean): string {
  const r = PROJS.filter((p) => d.ranks[p]).map((p) => `${p}:${d.ranks[p]}`);
  return [`x=[${[...d.lead, d.k]}],i=${d.i},n=${d.n ?? d.k}`, r.length ? `lora=${r.join('/')}` : 'nolora', ...(d.norm && !backward ? [d.norm] : []), ...Object.entries(mlpOptions(d, backward)).map(([k, v]) => `${k}=${v}`)].join(',');
}

/** The input dims of projection p: [out, in]. */
const dims = (d: MlpDef, p: Proj): [number, number] => (p === 'down' ? [d.n ?? d.k, d.i] : [d.i, d.k]);

/**
 * x in ±2; every matrix of a product over `len` terms uniform in ±2/√len, so each product
 * (and each LoRA term, A then B) stays O(|x|) at any K, I, r: g, u, h and y stay O(1–10)
 * and far from f16's overflow (±0.5 adapters made a K = 515, r = 64 case's down-projection
 * LoRA term ~10⁵, past f16's 65504).
 */
export function mlpForwardInputs(d: MlpDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = { x: uniform(dtype, [...d.lead, d.k], seed, -2, 2) };
  const m = (shape: number[], s: number, len: number) => uniform(dtype, shape, s, -2 / Math.sqrt(len), 2 / Math.sqrt(len));
  PROJS.forEach((p, q) => {
    const [o, i] = dims(d, p);
    out[weightName(p)] = m([o, i], seed + 1 + 3 * q, i);
    const r = d.ranks[p];
    if (r) {
      out[`${p}A`] = m([r, i], seed + 2 + 3 * q, i);
      out[`${p}B`] = m([o, r], seed + 3 + 3 * q, r);
    }
  });
  // γ in [0.5, 1.5] (a trained norm's scale); the residual like x.
  if (d.norm) out.normWeight = uniform(dtype, [d.k], seed + 10, 0.5, 1.5);
  if (d.norm === 'norm+res') out.residual = uniform(dtype, [...d.lead, d.k], seed + 11, -2, 2);
  return out;
}

const ref = (h: HostTensor): RefTensor => ({ dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) });

/** The forward's inputs, dy, what the forward saves (xa per adapter, g and u without recompute) and dA/dB to add into. */
export function mlpBackwardInputs(d: MlpDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  // The backward takes the MLP's input as given (the norm's n, were there one): no norm inputs.
  const f = mlpForwardInputs({ ...d, norm: undefined }, dtype, seed);
  const fw = mlpForwardRef(Object.fromEntries(Object.entries(f).map(([k, v]) => [k, ref(v)])) as MlpInputs, { alpha: d.alpha, dropout: d.dropout ?? 0, seed: d.seed ?? 0 });
  const out: Record<string, HostTensor> = { dy: uniform(dtype, [...d.lead, d.n ?? d.k], seed + 20), ...f };
  PROJS.forEach((p, q) => {
    const r = d.ranks[p];
    const xa = fw.xa[p];
    if (!r || !xa) return;
    out[`${p}Xa`] = { dtype: 'f32', shape: [...d.lead, r], data: Float32Array.from(xa) };
    if (d.accumulate) {
      const [o, i] = dims(d, p);
      out[`${p}DAIn`] = uniform('f32', [r, i], seed + 21 + 2 * q);
      out[`${p}DBIn`] = uniform('f32', [o, r], seed + 22 + 2 * q);
    }
  });
  if (d.recompute === false) {
    // g and u as the forward saves them: rounded to the dtype.
    const round = (v: Float64Array): HostTensor => ({ dtype, shape: [...d.lead, d.i], data: fromFloat64(dtype, v) });
    out.gate = round(fw.g);
    out.up = round(fw.u);
  }
  return out;
}

export const MLP_CASES: OpCase[] = MLP_DEFS.map((d) => ({ label: mlpLabel(d, false), options: mlpOptions(d, false), quick: d.quick, make: (dt, s) => mlpForwardInputs(d, dt, s) }));
export const MLP_BACKWARD_CASES: OpCase[] = MLP_DEFS.filter((d) => !d.norm).map((d) => ({ label: mlpLabel(d, true), options: mlpOptions(d, true), quick: d.quick, make: (dt, s) => mlpBackwardInputs(d, dt, s) }));

/** Llama-3-8B's MLP: T = 4096, hidden K = 4096, intermediate I = 14336, LoRA r = 16 on all three projections. */
const BENCH: MlpDef = { lead: [4096], k: 4096, i: 14336, ranks: { gate: 16, up: 16, down: 16 }, alpha: 32, dropout: 0.05, seed: 1 };

/**
 * Decode steps without LoRA (the model's MLP, B = T tokens): Llama-3.2-1B (K = 2048, I = 8192)
 * and Llama-3-8B (K = 4096, I = 14336) at T = 1 and 8 — webgpu's one-dispatch gate/up GEMV
 * against PMETAL_MLP_GEMV=0 (`bench --op fused_mlp --shape decode --variants`).
 */
const DECODE_BENCH: MlpDef[] = [1, 8, 16].flatMap((t) => [
  { lead: [t], k: 2048, i: 8192, ranks: {} },
  { lead: [t], k: 4096, i: 14336, ranks: {} },
]);

/**
 * The model's MLP block with its norm (normWeight + residual, as decoderLayer calls it) at
 * decode sizes: Llama-3.2-1B at T = 1, 2, 4, 16 and Llama-3-8B at T = 1 — where the norm
 * runs inside the gate/up GEMV (T ≤ 2 by default) against PMETAL_MLP_NORM_VARIANT=all|split
 * (`bench --op fused_mlp --shape "norm T=1,K=2048" --variants`).
 */
const NORM_BENCH: MlpDef[] = [
  ...[1, 2, 4, 16].map((t) => ({ lead: [t], k: 2048, i: 8192, ranks: {}, norm: 'norm+res' as const })),
  { lead: [1], k: 4096, i: 14336, ranks: {}, norm: 'norm+res' },
];

/**
 * Prefill sizes without LoRA (the model's MLP over a 2048-token prompt): Llama-3.2-1B and
 * Llama-3-8B — on the subgroup-matrix tier the gate/up pair (GU) against gate, up and swiglu
 * (`bench --op fused_mlp --shape prefill --variants`).
 */
const PREFILL_BENCH: MlpDef[] = [
  { lead: [2048], k: 2048, i: 8192, ranks: {} },
  { lead: [2048], k: 4096, i: 14336, ranks: {} },
];

export const MLP_BENCH: BenchShape[] = [
  { label: 'T=4096,K=4096,I=14336,r=16', options: mlpOptions(BENCH, false), make: (dt, s) => mlpForwardInputs(BENCH, dt, s) },
  ...DECODE_BENCH.map((d) => ({ label: `decode T=${d.lead[0]},K=${d.k},I=${d.i}`, options: {}, make: (dt: FloatDType, s: number) => mlpForwardInputs(d, dt, s) })),
  ...PREFILL_BENCH.map((d) => ({ label: `prefill T=${d.lead[0]},K=${d.k},I=${d.i}`, options: {}, make: (dt: FloatDType, s: number) => mlpForwardInputs(d, dt, s) })),
  ...NORM_BENCH.map((d) => ({ label: `norm T=${d.lead[0]},K=${d.k},I=${d.i}`, options: { eps: 1e-5 }, make: (dt: FloatDType, s: number) => mlpForwardInputs(d, dt, s) })),
];
export const MLP_BACKWARD_BENCH: BenchShape[] = [
  {
    label: 'T=4096,K=4096,I=14336,r=16',
    options: mlpOptions(BENCH, true),
    // The saved xa only have to be realistic for timing: random f32 values of their shapes
    // (the forward in float64 would take ~10¹² multiply-adds on the host).
    make: (dt, s) => ({
      dy: uniform(dt, [4096, 4096], s + 20),
      ...mlpForwardInputs(BENCH, dt, s),
      ...Object.fromEntries(PROJS.map((p, q) => [`${p}Xa`, uniform('f32', [4096, 16], s + 30 + q)])),
    }),
  },
];
