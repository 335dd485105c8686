import { isFloat, overflowThreshold, type DType } from '../src/dtype.js';

/** Element-wise comparison of a result against the float64 truth and its derived bound. */
export interface Comparison {
  pass: boolean;
  maxAbsErr: number;
  maxRelErr: number;
  /** The bound at the element with the largest err/bound ratio. */
  tol: number;
  /** Largest err/bound over all elements: ≤ 1 passes. */
  worstRatio: number;
  /** First failing element, for the report. */
  firstBad?: { index: number; got: number; want: number; bound: number };
}

/**
 * A result that overflowed its dtype: ±Inf is right when the exact value, moved by at most its
 * error bound, reaches the dtype's overflow threshold (IEEE round-to-nearest-even rounds
 * |v| ≥ max + ½ulp to infinity — f16: 65520, as PyTorch's `.half()`), with the same sign.
 */
function overflowed(g: number, w: number, bound: number, dtype: DType | undefined): boolean {
  if (!dtype || !isFloat(dtype) || Math.abs(g) !== Infinity || Math.sign(g) !== Math.sign(w)) return false;
  return Math.abs(w) + bound >= overflowThreshold(dtype);
}

/**
 * Elementwise against the exact values. `dtype` (the output's) lets a result that rounds
 * past its range be ±Inf (see `overflowed`); without it only equal infinities match.
 */
export function compare(got: Float64Array, want: Float64Array, bound: Float64Array, dtype?: DType): Comparison {
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let worstRatio = 0;
  let tol = 0;
  let firstBad: Comparison['firstBad'];
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    // NaN must match NaN and infinities must match exactly; both are a pass only when equal.
    const same = (Number.isNaN(g) && Number.isNaN(w)) || g === w || overflowed(g, w, bound[i], dtype);
    const err = same ? 0 : Math.abs(g - w);
    const bad = !same && !(err <= bound[i]);
    const ratio = same ? 0 : err / bound[i];
    if (err > maxAbsErr || Number.isNaN(err)) maxAbsErr = Number.isNaN(err) ? Infinity : err;
    const rel = w === 0 ? (err === 0 ? 0 : Infinity) : err / Math.abs(w);
    if (rel > maxRelErr && Number.isFinite(rel)) maxRelErr = rel;
    if (!(ratio <= worstRatio)) {
      worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
      tol = bound[i];
    }
    if (bad && !firstBad) firstBad = { index: i, got: g, want: w, bound: bound[i] };
  }
  return { pass: !firstBad, maxAbsErr, maxRelErr, tol, worstRatio, firstBad };
}
