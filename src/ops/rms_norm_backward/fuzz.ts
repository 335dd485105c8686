import { toFloat64 } from '../../dtype.js';
import { chance, fuzzCase, pick, rowsAndLength, splitRows, type Rand } from '../fuzz.js';
import { uniform } from '../random.js';
import type { OpCase } from '../types.js';
import { rstdOf } from './reference.js';

/** rms_norm_backward: the forward's shapes, rstd given (as the forward stores it, f32) or recomputed. */
export function rmsNormBackwardFuzz(r: Rand): OpCase {
  const [rows, n] = rowsAndLength(r, 1 << 16);
  const shape = [...splitRows(r, rows), n];
  const withRstd = chance(r, 0.5);
  const eps = pick(r, [1e-6, 1e-5, 1e-2]);
  return fuzzCase(`x=[${shape}],eps=${eps}${withRstd ? ',rstd' : ''}`, { eps }, (dtype, seed) => {
    const x = uniform(dtype, shape, seed, -2, 2);
    const rstd = Float32Array.from(rstdOf({ ...x, data: toFloat64(dtype, x.data) }, eps));
    return {
      dy: uniform(dtype, shape, seed + 1),
      x,
      weight: uniform(dtype, [n], seed + 2, 0.5, 1.5),
      ...(withRstd ? { rstd: { dtype: 'f32' as const, shape: [rows], data: rstd } } : {}),
    };
  });
}
