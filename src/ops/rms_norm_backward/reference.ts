import { rowsCols } from '../check.js';
import type { RefTensor } from '../types.js';

/**
 * RMSNorm backward in float64. With r = (mean(x²)+eps)^-½ and y = x·r·w:
 *   dx_j = r·w_j·dy_j − x_j·r³/N · Σ_i dy_i·w_i·x_i,   dw_j = Σ_rows dy_j·x_j·r.
 * Returns the magnitudes the error bound needs as well.
 */
export function rmsNormBackwardRef(dy: RefTensor, x: RefTensor, w: RefTensor, rstd: Float64Array) {
  const [rows, n] = rowsCols(x.shape);
  const dx = new Float64Array(x.data.length);
  const dxMag = new Float64Array(x.data.length);
  const dw = new Float64Array(n);
  const dwMag = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const inv = rstd[r];
    let dot = 0;
    let mag = 0;
    for (let i = 0; i < n; i++) {
      const t = dy.data[o + i] * w.data[i] * x.data[o + i];
      dot += t;
      mag += Math.abs(t);
    }
    const c = (inv ** 3 / n) * dot;
    const cMag = (inv ** 3 / n) * mag;
    for (let j = 0; j < n; j++) {
      const a = inv * w.data[j] * dy.data[o + j];
      dx[o + j] = a - x.data[o + j] * c;
      dxMag[o + j] = Math.abs(a) + Math.abs(x.data[o + j]) * cMag;
      const g = dy.data[o + j] * x.data[o + j] * inv;
      dw[j] += g;
      dwMag[j] += Math.abs(g);
    }
  }
  return { dx, dxMag, dw, dwMag };
}

export function rstdOf(x: RefTensor, eps: number): Float64Array {
  const [rows, n] = rowsCols(x.shape);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < n; j++) ss += x.data[r * n + j] ** 2;
    out[r] = 1 / Math.sqrt(ss / n + eps);
  }
  return out;
}
