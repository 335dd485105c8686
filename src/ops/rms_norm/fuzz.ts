import { chance, fuzzCase, pick, range, rowsAndLength, splitRows, type Rand } from '../fuzz.js';
import { uniform } from '../random.js';
import type { OpCase } from '../types.js';

/** rms_norm: any leading dims, row lengths 1…8192, with or without the residual, a few eps. */
export function rmsNormFuzz(r: Rand): OpCase {
  const [rows, n] = rowsAndLength(r, 1 << 16);
  const lead = splitRows(r, rows);
  const residual = chance(r, 0.5);
  const eps = pick(r, [1e-6, 1e-5, 1e-2]);
  const [lo, hi] = range(r, 2, 100);
  const shape = [...lead, n];
  return fuzzCase(`x=[${shape}],eps=${eps}${residual ? ',residual' : ''},range=${hi}`, { eps }, (dtype, seed) => ({
    x: uniform(dtype, shape, seed, lo, hi),
    weight: uniform(dtype, [n], seed + 1, 0.5, 1.5),
    ...(residual ? { residual: uniform(dtype, shape, seed + 2, lo, hi) } : {}),
  }));
}
