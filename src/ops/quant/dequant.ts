import { unitRoundoff } from '../../dtype.js';
import type { RefTensor } from '../types.js';
import type { QuantDims } from './formats.js';
import { ggufElement } from './gguf.js';
import { mlxQ } from './mlx.js';

const U = unitRoundoff('f32');
/** Below the smallest normal f32, WGSL/MSL may flush a result to zero. */
const FLUSH = 2 ** -126;

/**
 * W [N, K] dequantized exactly (float64), and per element the error bound of the kernels'
 * f32 dequantization ŵ. Per format (the claim "exact in f32" checked term by term):
 *
 * - q4_0 (q−8)·d, q8_0 q·d: an f16 d (11 significant bits, ≥ 2^-24) times an integer of at
 *   most 8 bits: ≤ 19 bits, exact in f32. Error 0.
 * - q6_K d·sc·q: 11 + 7 (|sc| ≤ 128) + 5 (|q| ≤ 32) ≤ 23 significant bits, in any order:
 *   exact. Error 0.
 * - q4_K (d·sc)·q − dmin·m: d·sc ≤ 17 bits, ·q (≤ 15) ≤ 21 bits, dmin·m ≤ 17 bits — all exact;
 *   the subtraction rounds once (with or without fma, since the product is exact): u·|w|.
 * - MLX with f16/bf16 scales s·q + b: s·q ≤ 11 + 8 bits, exact; the add rounds once: u·|w|;
 *   bf16 values reach below 2^-126, where a flushed result costs < 2^-126 absolute.
 * - MLX with f32 scales: s·q rounds too (unless fused): u·|s·q|·(1+u) + u·|w| (+ the flush).
 */
export function dequantRef(d: QuantDims, w: RefTensor, scales?: RefTensor, biases?: RefTensor): { w: Float64Array; err: Float64Array } {
  const { n, k } = d;
  const out = new Float64Array(n * k);
  const err = new Float64Array(n * k);
  if (d.info.kind === 'mlx') {
    const bits = d.info.bits!;
    const words = w.data;
    const s = scales!.data;
    const b = biases!.data;
    const gpr = k / d.group;
    const flush = d.scaleDtype === 'f16' ? 0 : FLUSH;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < k; c++) {
        const g = r * gpr + Math.floor(c / d.group);
        const sq = s[g] * mlxQ(words, r * d.rowUnits, c, bits);
        const v = sq + b[g];
        out[r * k + c] = v;
        err[r * k + c] = U * Math.abs(v) + (d.scaleDtype === 'f32' ? U * (1 + U) * Math.abs(sq) : 0) + flush;
      }
    }
    return { w: out, err };
  }
  const bytes = Uint8Array.from(w.data);
  const fmtName = d.format as 'q4_0' | 'q8_0' | 'q4_k' | 'q6_k';
  const bk = d.info.blockK!;
  const bb = d.info.blockBytes!;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      const v = ggufElement(fmtName, bytes, r * d.rowUnits + Math.floor(c / bk) * bb, c % bk);
      out[r * k + c] = v;
      if (fmtName === 'q4_k') err[r * k + c] = U * Math.abs(v);
    }
  }
  return { w: out, err };
}
