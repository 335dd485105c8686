import { toFloat64, type FloatDType } from '../../dtype.js';
import { uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase, RefTensor } from '../types.js';
import { FORMATS } from '../quant/formats.js';
import { quantWeight, type QuantSource } from '../quant/inputs.js';
import { loraWeightRef } from './qweight.js';
import { loraForwardRef, type LoraOpts } from './reference.js';

/**
 * The curated LoRA cases both ops share: x [...lead, K], W [N, K], A [r, K], B [N, r]. K and N
 * are not multiples of any tile; ranks 1 to 256.
 */
export interface LoraDef {
  lead: number[];
  k: number;
  n: number;
  r: number;
  alpha?: number;
  dropout?: number;
  seed?: number;
  bias?: boolean;
  /** Backward: add into existing dA / dB. */
  accumulate?: boolean;
  /** QLoRA: W quantized (quant/inputs.ts; n and k from the case), MLX scales f16 by default. */
  quant?: Omit<QuantSource, 'n' | 'k' | 'mode'> & { mode?: QuantSource['mode'] };
  quick?: boolean;
}

export const LORA_DEFS: LoraDef[] = [
  { lead: [1], k: 1, n: 1, r: 1, quick: true },
  { lead: [7], k: 33, n: 17, r: 4, bias: true, quick: true },
  { lead: [5], k: 64, n: 40, r: 8, dropout: 0.25, seed: 3, accumulate: true, quick: true },
  { lead: [2, 3], k: 20, n: 9, r: 2, alpha: 4, quick: true },
  { lead: [9], k: 65, n: 31, r: 16, alpha: 32, dropout: 0.5, seed: 7, bias: true, quick: true },
  { lead: [32], k: 64, n: 70, r: 32, dropout: 0.1, seed: 11, accumulate: true, quick: true },
  { lead: [4], k: 300, n: 3, r: 256, alpha: 16, quick: true },
  // T > 16, K on 16-byte words, r a multiple of 8, no split: f16 on webgpu's subgroup-matrix
  // tier takes the LoRA term into the base product's K loop (lora_gemm.ts) — r = 24 ends
  // inside a 32-deep slice, r = 72 spans three; N past a 128- and a 256-column tile.
  { lead: [48], k: 96, n: 130, r: 24, alpha: 8, dropout: 0.2, seed: 6, quick: true },
  { lead: [40], k: 256, n: 264, r: 72, alpha: 36, bias: true, quick: true },
  // r = 16 without dropout: one 16-deep product per result under PMETAL_LORA_GEMM_VARIANT=epi
  // (forward, and the backward's dx = dy·W + gs·A with b untransposed).
  { lead: [24], k: 64, n: 136, r: 16, alpha: 32, bias: true, quick: true },
  { lead: [64], k: 1024, n: 1000, r: 64, alpha: 128, dropout: 0.1, seed: 5 },
  { lead: [2, 64], k: 515, n: 2049, r: 16, bias: true, accumulate: true },
  { lead: [33], k: 4096, n: 64, r: 128, dropout: 0.05, seed: 1 },
  // QLoRA: W in each quantized format, K a multiple of the format's group/block (not of
  // the gemm tiles), N ragged.
  { lead: [7], k: 192, n: 17, r: 4, bias: true, quant: { format: 'mlx4', groupSize: 64 }, quick: true },
  { lead: [5], k: 96, n: 33, r: 8, dropout: 0.25, seed: 3, accumulate: true, quant: { format: 'q4_0', mode: 'bits' }, quick: true },
  { lead: [2, 3], k: 256, n: 9, r: 2, alpha: 4, quant: { format: 'q4_k' }, quick: true },
  { lead: [9], k: 256, n: 31, r: 16, alpha: 32, dropout: 0.1, seed: 9, quant: { format: 'q6_k', mode: 'bits' }, quick: true },
  { lead: [4], k: 64, n: 40, r: 8, bias: true, accumulate: true, quant: { format: 'q8_0' }, quick: true },
  { lead: [6], k: 128, n: 19, r: 4, quant: { format: 'mlx8', groupSize: 32, scaleDtype: 'bf16', mode: 'bits' }, quick: true },
  { lead: [3], k: 256, n: 13, r: 8, dropout: 0.5, seed: 2, quant: { format: 'mlx4', groupSize: 128, scaleDtype: 'f32' }, quick: true },
  { lead: [64], k: 512, n: 300, r: 16, alpha: 32, dropout: 0.05, seed: 4, quant: { format: 'q4_k', mode: 'bits' } },
  { lead: [2, 33], k: 1024, n: 70, r: 64, bias: true, accumulate: true, quant: { format: 'mlx4', groupSize: 64 } },
];

export const loraOptions = (d: LoraDef, backward: boolean): Record<string, unknown> => ({
  ...(d.alpha !== undefined ? { alpha: d.alpha } : {}),
  ...(d.dropout ? { dropout: d.dropout, seed: d.seed ?? 0 } : {}),
  ...(backward && d.accumulate ? { accumulate: true } : {}),
  ...(d.quant ? { format: d.quant.format, ...(d.quant.groupSize ? { groupSize: d.quant.groupSize } : {}) } : {}),
});

export function loraLabel(d: LoraDef, backward: boolean): string {
  const q = d.quant;
  const qLabel = q ? [FORMATS[q.format].kind === 'mlx' ? `scales=${q.scaleDtype ?? 'f16'}` : '', q.mode ?? 'quantize'] : [];
  return [`x=[${[...d.lead, d.k]}],n=${d.n},r=${d.r}`, ...Object.entries(loraOptions(d, backward)).map(([k, v]) => `${k}=${v}`), ...qLabel, d.bias && !backward ? 'bias' : ''].filter(Boolean).join(',');
}

/** The base weight: dense `weight` [N, K], or quantized (w, + MLX scales/biases) from a matrix of magnitude ≤ 0.5. */
function baseWeight(d: LoraDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  if (!d.quant) return { weight: uniform(dtype, [d.n, d.k], seed, -0.5, 0.5) };
  return quantWeight({ range: 0.5, mode: 'quantize', ...d.quant, n: d.n, k: d.k }, seed);
}

export function loraForwardInputs(d: LoraDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  return {
    x: uniform(dtype, [...d.lead, d.k], seed),
    ...baseWeight(d, dtype, seed + 1),
    loraA: uniform(dtype, [d.r, d.k], seed + 2, -0.5, 0.5),
    loraB: uniform(dtype, [d.n, d.r], seed + 3, -0.5, 0.5),
    ...(d.bias ? { bias: uniform(dtype, [d.n], seed + 4) } : {}),
  };
}

const ref = (h: HostTensor): RefTensor => ({ dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) });

/** The forward's inputs (bias aside), dy, the saved xa as the forward stores it (f32), and dA/dB to add into. */
export function loraBackwardInputs(d: LoraDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const { bias: _bias, ...f } = loraForwardInputs(d, dtype, seed);
  const o: LoraOpts = { alpha: d.alpha, dropout: d.dropout ?? 0, seed: d.seed ?? 0 };
  const refs = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, ref(v)]));
  const { weight } = loraWeightRef('fused_lora_backward', refs, loraOptions(d, true));
  const { xa } = loraForwardRef({ x: refs.x, weight, loraA: refs.loraA, loraB: refs.loraB }, o);
  return {
    dy: uniform(dtype, [...d.lead, d.n], seed + 5),
    ...f,
    xa: { dtype: 'f32', shape: [...d.lead, d.r], data: Float32Array.from(xa) },
    ...(d.accumulate ? { dAIn: uniform('f32', [d.r, d.k], seed + 6), dBIn: uniform('f32', [d.n, d.r], seed + 7) } : {}),
  };
}

export const LORA_FORWARD_CASES: OpCase[] = LORA_DEFS.map((d) => ({ label: loraLabel(d, false), options: loraOptions(d, false), quick: d.quick, make: (dt, s) => loraForwardInputs(d, dt, s) }));
export const LORA_BACKWARD_CASES: OpCase[] = LORA_DEFS.map((d) => ({ label: loraLabel(d, true), options: loraOptions(d, true), quick: d.quick, make: (dt, s) => loraBackwardInputs(d, dt, s) }));

/**
 * Llama-3-8B's MLP up/gate projection (hidden 4096 → intermediate 14336) on T = 4096 tokens,
 * r = 16 and 64; QLoRA r = 16 on a 4-bit 4096×4096 attention projection (MLX g64, Q4_K;
 * random bits: quantizing 16M weights on the host is slow) over T = 2048 tokens.
 */
const BENCH: LoraDef[] = [
  ...[16, 64].map((r) => ({ lead: [4096], k: 4096, n: 14336, r, alpha: 2 * r, dropout: 0.05, seed: 1 })),
  ...(['mlx4', 'q4_k'] as const).map((format) => ({ lead: [2048], k: 4096, n: 4096, r: 16, alpha: 32, dropout: 0.05, seed: 1, quant: { format, mode: 'bits' as const } })),
];

const benchLabel = (d: LoraDef): string => `T=${d.lead[0]},K=${d.k},N=${d.n},r=${d.r}${d.quant ? `,${d.quant.format}` : ''}`;

export const LORA_FORWARD_BENCH: BenchShape[] = BENCH.map((d) => ({ label: benchLabel(d), options: loraOptions(d, false), make: (dt, s) => loraForwardInputs(d, dt, s) }));
export const LORA_BACKWARD_BENCH: BenchShape[] = BENCH.map((d) => ({
  label: benchLabel(d),
  options: loraOptions(d, true),
  // xa only has to be realistic for timing: random f32 values of its shape (the product
  // x·Aᵀ in float64 would take 10⁹ multiply-adds on the host).
  make: (dt, s) => {
    const { bias: _bias, ...f } = loraForwardInputs(d, dt, s);
    return { dy: uniform(dt, [...d.lead, d.n], s + 5), ...f, xa: uniform('f32', [...d.lead, d.r], s + 6) };
  },
}));
