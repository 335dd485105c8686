import type { FloatDType } from '../../dtype.js';
import { rowsCols } from '../check.js';
import { toDtype } from '../tolerance.js';
import { dequantRef } from '../quant/dequant.js';
import type { QuantDims } from '../quant/formats.js';
import type { RefTensor } from '../types.js';

/**
 * y = x·Wᵀ in float64 with W dequantized exactly (dequantRef), and per output element the
 * two sums its error bound is made of: S = Σ_k |x_k|·(|W_k| + e_k) (magnitudes of the f32
 * products the kernel adds, its dequantized ŵ within e_k of W) and E = Σ_k |x_k|·e_k (the
 * dequantization's own error carried through). `staged`: the kernel rounds ŵ to that dtype
 * before multiplying, so e_k grows to toDtype(staged, W_k, e_k).
 */
export function quantizedGemmRef(x: RefTensor, d: QuantDims, w: RefTensor, scales?: RefTensor, biases?: RefTensor, abs = false, staged?: FloatDType) {
  const [m, k] = rowsCols(x.shape);
  const { n } = d;
  const deq = dequantRef(d, w, scales, biases);
  if (staged) deq.err = deq.err.map((e, q) => toDtype(staged, deq.w[q], e));
  const W = deq.w;
  const X = x.data;
  const y = new Float64Array(m * n);
  const S = abs ? new Float64Array(m * n) : undefined;
  const E = abs ? new Float64Array(m * n) : undefined;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let sa = 0;
      let se = 0;
      for (let kk = 0; kk < k; kk++) {
        const xv = X[i * k + kk];
        const wv = W[j * k + kk];
        s += xv * wv;
        if (abs) {
          const e = deq.err[j * k + kk];
          sa += Math.abs(xv) * (Math.abs(wv) + e);
          se += Math.abs(xv) * e;
        }
      }
      y[i * n + j] = s;
      if (S) S[i * n + j] = sa;
      if (E) E[i * n + j] = se;
    }
  }
  return { y, S, E, m, n, k };
}
