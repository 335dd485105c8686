import { f32ArrayTo16, type FloatDType } from '../../dtype.js';
import { f, rint } from './f32.js';

/**
 * MLX's affine quantizer, ported from mlx/backend/cpu/quantized.cpp `quantize` (the CPU
 * kernel behind mx.quantize, mode "affine"), f32 arithmetic as written there:
 *
 *   per group of `groupSize` values: w_min, w_max; scale = max((w_max − w_min)/(2^bits − 1), 1e-7),
 *   negated unless |w_min| > |w_max|; edge = that extreme; q0 = rint(edge/scale);
 *   if q0 ≠ 0: scale = edge/q0, bias = edge, else bias = 0;
 *   q = clamp(rint((w − bias)/scale), 0, 2^bits − 1), packed little-endian into u32 words
 *   (element k of a row at word k/(32/bits), bit (k mod (32/bits))·bits);
 *   scales and biases stored in the scale dtype (round to nearest even).
 *
 * The quantized values use the f32 scale and bias; the stored ones are rounded — as MLX does.
 * (MLX's Metal kernel seeds its running max with 0 instead of −∞, so it can differ from the
 * CPU kernel on groups of only negative values; the CPU kernel is the reference here.)
 */
export function mlxQuantize(w: ArrayLike<number>, n: number, k: number, bits: 4 | 8, groupSize: number, scaleDtype: FloatDType): { w: Uint32Array; scales: Float32Array | Uint16Array; biases: Float32Array | Uint16Array } {
  const nBins = 2 ** bits - 1;
  const eps = f(1e-7);
  const per = 32 / bits;
  const packed = new Uint32Array((n * k) / per);
  const groups = (n * k) / groupSize;
  const scales = new Float32Array(groups);
  const biases = new Float32Array(groups);
  for (let g = 0; g < groups; g++) {
    const w0 = g * groupSize;
    let wMin = Infinity;
    let wMax = -Infinity;
    for (let j = 0; j < groupSize; j++) {
      wMax = Math.max(wMax, f(w[w0 + j]));
      wMin = Math.min(wMin, f(w[w0 + j]));
    }
    const mask = Math.abs(wMin) > Math.abs(wMax);
    let scale = Math.max(f(f(wMax - wMin) / nBins), eps);
    scale = mask ? scale : -scale;
    const edge = mask ? wMin : wMax;
    const q0 = rint(f(edge / scale));
    let bias = 0;
    if (q0 !== 0) {
      scale = f(edge / q0);
      bias = edge;
    }
    for (let j = 0; j < groupSize; j++) {
      const q = Math.min(Math.max(rint(f(f(f(w[w0 + j]) - bias) / scale)), 0), nBins);
      const e = w0 + j;
      packed[Math.floor(e / per)] |= q << ((e % per) * bits);
    }
    scales[g] = scale;
    biases[g] = bias;
  }
  const cast = (a: Float32Array) => (scaleDtype === 'f32' ? a : f32ArrayTo16(scaleDtype, a));
  return { w: packed, scales: cast(scales), biases: cast(biases) };
}

/** The quantized value of element k of a row from its packed words (`at`: the row's first word). */
export function mlxQ(words: ArrayLike<number>, at: number, k: number, bits: 4 | 8): number {
  const per = 32 / bits;
  return (words[at + Math.floor(k / per)] >>> ((k % per) * bits)) & (2 ** bits - 1);
}
