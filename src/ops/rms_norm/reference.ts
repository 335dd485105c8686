import { rowsCols } from '../check.js';
import type { RefTensor } from '../types.js';

/** RMSNorm in float64: h = x (+ residual); y = h · w / sqrt(mean(h²) + eps). */
export function rmsNormRef(x: RefTensor, weight: RefTensor, residual: RefTensor | undefined, eps: number) {
  const [rows, n] = rowsCols(x.shape);
  const h = new Float64Array(x.data);
  if (residual) for (let i = 0; i < h.length; i++) h[i] += residual.data[i];
  const y = new Float64Array(h.length);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < n; j++) ss += h[r * n + j] ** 2;
    const inv = 1 / Math.sqrt(ss / n + eps);
    rstd[r] = inv;
    for (let j = 0; j < n; j++) y[r * n + j] = h[r * n + j] * inv * weight.data[j];
  }
  return { h, y, rstd };
}
