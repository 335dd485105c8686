import type { RefTensor } from '../types.js';
import { gemmDims } from './dims.js';

export type { GemmDims } from './dims.js';

export interface GemmRefOptions {
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
}

/**
 * y = alpha·op(A)·op(B) + beta·C + bias in float64. With `abs`, also the magnitude sums
 * Σ_k |a_ik·b_kj| per output element that the accumulation's error bound is relative to.
 */
export function gemmRef(a: RefTensor, b: RefTensor, c: RefTensor | undefined, bias: RefTensor | undefined, o: GemmRefOptions, abs = false) {
  const d = gemmDims(a.shape, b.shape, o.transA, o.transB);
  const { batch, m, n, k } = d;
  const y = new Float64Array(batch * m * n);
  const absSum = abs ? new Float64Array(batch * m * n) : undefined;
  // Element (i, kk) of op(A) and (kk, j) of op(B) as (base, row step, column step).
  const [aRow, aCol] = o.transA ? [1, m] : [k, 1];
  const [bRow, bCol] = o.transB ? [1, k] : [n, 1];
  const A = a.data;
  const B = b.data;
  for (let z = 0; z < batch; z++) {
    const a0 = z * d.aStride;
    const b0 = z * d.bStride;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let sa = 0;
        let ai = a0 + i * aRow;
        let bj = b0 + j * bCol;
        for (let kk = 0; kk < k; kk++, ai += aCol, bj += bRow) {
          const t = A[ai] * B[bj];
          s += t;
          sa += Math.abs(t);
        }
        const yi = (z * m + i) * n + j;
        let v = o.alpha * s;
        if (c) v += o.beta * c.data[yi];
        if (bias) v += bias.data[j];
        y[yi] = v;
        if (absSum) absSum[yi] = sa;
      }
    }
  }
  return { y, absSum, dims: d };
}
