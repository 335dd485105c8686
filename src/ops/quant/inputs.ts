import { f32ArrayTo16, numberToF16, toFloat64, type FloatDType } from '../../dtype.js';
import { rng, uniform } from '../random.js';
import type { HostTensor } from '../types.js';
import { FORMATS, MLX_DEFAULT_GROUP, type QuantFormat } from './formats.js';
import { quantizeQ4K, quantizeQ4_0, quantizeQ6K, quantizeQ8_0 } from './gguf.js';
import { mlxQuantize } from './mlx.js';

export interface QuantSource {
  format: QuantFormat;
  n: number;
  k: number;
  groupSize?: number;
  /** MLX: dtype of scales/biases (and of the weights quantized). */
  scaleDtype?: FloatDType;
  /**
   * 'quantize': a random matrix through the format's reference quantizer (rows of different
   * magnitudes, one all-zero and one constant group); 'bits': random packed bits (every code,
   * every scale/min pattern) with finite scales.
   */
  mode: 'quantize' | 'bits';
  /** Magnitude of the weights quantized. */
  range?: number;
}

/** A quantized weight W [N, K] as the op takes it: { w } (GGUF) or { w, scales, biases } (MLX). */
export function quantWeight(s: QuantSource, seed: number): Record<string, HostTensor> {
  const info = FORMATS[s.format];
  const r = rng(seed);
  const { n, k } = s;
  if (info.kind === 'mlx') {
    const group = s.groupSize ?? MLX_DEFAULT_GROUP;
    const sd = s.scaleDtype ?? 'f16';
    const sShape = [n, k / group];
    if (s.mode === 'bits') {
      const w = new Uint32Array((n * k * info.bits!) / 32);
      for (let i = 0; i < w.length; i++) w[i] = Math.floor(r() * 2 ** 32);
      return { w: { dtype: 'u32', shape: [n, w.length / n], data: w }, scales: uniform(sd, sShape, seed + 1, -0.05, 0.05), biases: uniform(sd, sShape, seed + 2, -1, 1) };
    }
    const q = mlxQuantize(matrix(n, k, seed, s.range ?? 1, sd), n, k, info.bits!, group, sd);
    return { w: { dtype: 'u32', shape: [n, q.w.length / n], data: q.w }, scales: { dtype: sd, shape: sShape, data: q.scales }, biases: { dtype: sd, shape: sShape, data: q.biases } };
  }
  const rowBytes = (k / info.blockK!) * info.blockBytes!;
  const out = new Uint8Array(n * rowBytes);
  if (s.mode === 'bits') {
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256);
    // Finite f16 super-scales (d, and dmin for q4_K) of either sign, |·| in [2^-14, 2^-4).
    const f16At = s.format === 'q6_k' ? [208] : s.format === 'q4_k' ? [0, 2] : [0];
    for (let b = 0; b < out.length / info.blockBytes!; b++) {
      for (const o of f16At) {
        const h = numberToF16((r() < 0.5 ? -1 : 1) * 2 ** (-14 + 10 * r()));
        out[b * info.blockBytes! + o] = h & 0xff;
        out[b * info.blockBytes! + o + 1] = h >> 8;
      }
    }
  } else {
    const x = matrix(n, k, seed, s.range ?? 1, 'f32');
    const quant = { q4_0: quantizeQ4_0, q8_0: quantizeQ8_0, q4_k: quantizeQ4K, q6_k: quantizeQ6K }[s.format as 'q4_0'];
    for (let row = 0; row < n; row++) quant(x.subarray(row * k, (row + 1) * k), k, out, row * rowBytes);
  }
  return { w: { dtype: 'u8', shape: [n, rowBytes], data: out } };
}

/**
 * A random W [N, K] in `dtype` (as f32 values): rows scaled by 2^(−3..3) of `range`, the
 * first 32 values of row 0 zero and the next 32 constant (degenerate groups), every value
 * of row 1's first group negative (the side MLX's Metal and CPU kernels treat differently).
 */
function matrix(n: number, k: number, seed: number, range: number, dtype: FloatDType): Float32Array {
  const u = uniform('f32', [n, k], seed, -range, range).data as Float32Array;
  const r = rng(seed + 7);
  for (let row = 0; row < n; row++) {
    const s = 2 ** Math.round(6 * r() - 3);
    for (let c = 0; c < k; c++) u[row * k + c] *= s;
  }
  if (k >= 64) {
    u.fill(0, 0, 32);
    u.fill(range / 3, 32, 64);
  }
  if (n > 1) for (let c = 0; c < Math.min(32, k); c++) u[k + c] = -Math.abs(u[k + c]) - range / 100;
  if (dtype === 'f32') return u;
  // Values of the weights' own dtype (MLX quantizes the array it is given).
  return Float32Array.from(toFloat64(dtype, f32ArrayTo16(dtype, u)));
}
