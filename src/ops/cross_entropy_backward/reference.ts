import { rowsCols } from '../check.js';
import { capped, softcapSlope, targetKind, type CeOptions } from '../cross_entropy/reference.js';
import type { RefTensor } from '../types.js';

/**
 * Cross-entropy backward in float64, from the forward's lse:
 *   dlogits_j = g·(softmax_j − (1−ε)·[j=t] − ε/V)·∂z_j/∂x_j,   softmax_j = exp(z_j − lse),
 * with ∂z/∂x = sech²(x/cap) under a softcap (1 without; softcapSlope, cancellation-free). g = dloss[row] ('none'),
 * dloss[0] ('sum') or dloss[0]/count ('mean', count = non-ignored targets). Ignored rows
 * get 0; rows with a target outside [0, V) get NaN, matching the forward.
 */
export function crossEntropyBackwardRef(logits: RefTensor, targets: RefTensor, lse: RefTensor, dloss: RefTensor, o: CeOptions) {
  const [rows, v] = rowsCols(logits.shape);
  const kinds = Array.from({ length: rows }, (_, r) => targetKind(targets.data[r], v, o.ignoreIndex));
  const count = kinds.filter((k) => k !== 'ignored').length;
  const c1 = 1 - o.labelSmoothing;
  const c2 = o.labelSmoothing / v;
  const dx = new Float64Array(rows * v);
  /** Per row: the upstream factor g. */
  const g = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    g[r] = o.reduction === 'none' ? dloss.data[r] : o.reduction === 'sum' ? dloss.data[0] : dloss.data[0] / count;
    const off = r * v;
    if (kinds[r] !== 'valid') {
      if (kinds[r] === 'invalid') dx.fill(NaN, off, off + v);
      continue;
    }
    const t = targets.data[r];
    for (let j = 0; j < v; j++) {
      const x = logits.data[off + j];
      const p = Math.exp(capped(x, o.softcap) - lse.data[r]);
      const s = softcapSlope(x, o.softcap);
      dx[off + j] = g[r] * (p - c2 - (j === t ? c1 : 0)) * s;
    }
  }
  return { dx, g, kinds, count, rows, v };
}
