import { rowsCols } from '../check.js';
import type { RefTensor } from '../types.js';

/**
 * Row softmax of scale·x in float64. With causal, x is [..., Sq, Sk] and query q sees keys
 * k ≤ q + offset, offset = Sk − Sq unless given (bottom-right alignment: the last query
 * sees every key, as with a KV cache). Semantics every backend matches:
 * - masked entries are exactly 0; a row with no visible key (offset < −q) is all 0;
 * - a row whose visible entries are all −Inf is NaN on those entries (0/0, as torch.softmax
 *   of an all −inf row), its masked entries still 0.
 */
export function softmaxRef(x: RefTensor, scale: number, causal: boolean, queryOffset: number | undefined) {
  const [rows, n] = rowsCols(x.shape);
  const sq = causal ? x.shape[x.shape.length - 2] : 1;
  const offset = queryOffset ?? n - sq;
  const y = new Float64Array(x.data.length);
  const z = new Float64Array(x.data.length);
  const rowMax = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const limit = causal ? Math.min(n, (r % sq) + offset + 1) : n;
    let m = -Infinity;
    for (let j = 0; j < limit; j++) m = Math.max(m, (z[o + j] = scale * x.data[o + j]));
    rowMax[r] = m;
    if (limit <= 0) continue;
    let s = 0;
    for (let j = 0; j < limit; j++) s += Math.exp(z[o + j] - m);
    for (let j = 0; j < limit; j++) y[o + j] = Math.exp(z[o + j] - m) / s;
  }
  return { y, z, rowMax, limitOf: (r: number) => (causal ? Math.max(0, Math.min(n, (r % sq) + offset + 1)) : n) };
}
