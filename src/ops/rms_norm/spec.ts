import { z } from 'zod';
import { FLOAT_DTYPES } from '../../dtype.js';
import { expectDtype, expectNonEmptyAxis, expectRank, expectShape, expectSameDtype, positiveNormalF32, required, rowsCols } from '../check.js';
import { uniform } from '../random.js';
import { U32, boundsOf } from '../tolerance.js';
import { defineOp, type OpCase } from '../types.js';
import { rmsNormRef } from './reference.js';
import { rmsNormFuzz } from './fuzz.js';

export const rmsNormOptions = z
  .object({ eps: positiveNormalF32().default(1e-6) })
  .strict();
export type RmsNormOptions = z.input<typeof rmsNormOptions>;

const shapes = (rows: number, cols: number, residual: boolean, quick: boolean): OpCase => ({
  label: `rows=${rows},cols=${cols}${residual ? ',residual' : ''}`,
  options: {},
  quick,
  make: (dtype, seed) => ({
    x: uniform(dtype, [rows, cols], seed, -2, 2),
    weight: uniform(dtype, [cols], seed + 1, 0.5, 1.5),
    ...(residual ? { residual: uniform(dtype, [rows, cols], seed + 2) } : {}),
  }),
});

export const rmsNorm = defineOp({
  name: 'rms_norm',
  summary: 'RMSNorm over the last dimension, optionally fused with a residual add (returns the new residual).',
  inputs: [
    { name: 'x', doc: '[..., N] activations' },
    { name: 'weight', doc: '[N] scale, dtype of x' },
    { name: 'residual', optional: true, doc: '[..., N] added to x first; the sum is returned as `residual`' },
  ],
  outputs: [
    { name: 'y', doc: 'shape and dtype of x' },
    { name: 'rstd', doc: 'f32 [rows] 1/rms of each row (saved for the backward)' },
    { name: 'residual', optional: true, doc: 'x + residual, produced when residual is given' },
  ],
  options: rmsNormOptions,
  dtypes: FLOAT_DTYPES,
  check(i) {
    const op = 'rms_norm';
    const x = required(op, 'x', i.x);
    expectRank(op, 'x', x, [1, 2, 3, 4], '[..., N] with rank 1 to 4');
    expectDtype(op, 'x', x, FLOAT_DTYPES);
    // The mean of zero squares is 0/0 (PyTorch's mean of an empty tensor is NaN): an error
    // naming the axis rather than NaN rstd for every row. Zero rows are fine (empty outputs).
    expectNonEmptyAxis(op, 'x', x, -1, 'the normalized dimension N');
    const [rows, n] = rowsCols(x.shape);
    expectShape(op, 'weight', required(op, 'weight', i.weight), [n], x.dtype);
    if (i.residual) {
      expectSameDtype(op, 'residual', i.residual, x, 'x');
      expectShape(op, 'residual', i.residual, x.shape);
    }
    return {
      y: { dtype: x.dtype, shape: x.shape },
      rstd: { dtype: 'f32', shape: [rows] },
      ...(i.residual ? { residual: { dtype: x.dtype, shape: x.shape } } : {}),
    };
  },
  reference(i, o) {
    const x = i.x!;
    const { h, y, rstd } = rmsNormRef(x, i.weight!, i.residual, o.eps);
    return {
      y: { dtype: x.dtype, shape: x.shape, data: y },
      rstd: { dtype: 'f32', shape: [rstd.length], data: rstd },
      ...(i.residual ? { residual: { dtype: x.dtype, shape: x.shape, data: h } } : {}),
    };
  },
  bounds(i, _o, ref) {
    // Σh² over N terms: γ_N relative; the square root halves it (N/2). Then the mean, the
    // +eps, inverseSqrt (2 ulp = 4u), h·r·w (2 roundings) and the residual add (1 rounding,
    // counted twice since h enters both S and the product): N/2 + 10 units of U32.
    const n = i.x!.shape[i.x!.shape.length - 1];
    const k = (n / 2 + 10) * U32;
    const y = ref.y!.data;
    const rstd = ref.rstd!.data;
    return {
      y: boundsOf(i.x!.dtype, y, (j) => k * Math.abs(y[j])),
      rstd: boundsOf('f32', rstd, (j) => k * rstd[j]),
      ...(ref.residual ? { residual: boundsOf(i.x!.dtype, ref.residual.data, (j) => U32 * Math.abs(ref.residual!.data[j])) } : {}),
    };
  },
  cases: [
    shapes(1, 1, false, true),
    shapes(7, 33, false, true),
    shapes(3, 4096, false, true),
    shapes(2, 8192, false, true),
    shapes(5, 1000, false, true),
    shapes(2, 4095, false, true),
    shapes(4, 257, true, true),
    shapes(4, 256, true, true),
    shapes(64, 8192, false, false),
    shapes(1, 65536, false, false),
    shapes(300, 130, true, false),
  ],
  bench: [
    { label: 'rows=16384,cols=4096', options: {}, make: (d, s) => ({ x: uniform(d, [16384, 4096], s), weight: uniform(d, [4096], s + 1) }) },
    {
      label: 'rows=4096,cols=8192,residual',
      options: {},
      make: (d, s) => ({ x: uniform(d, [4096, 8192], s), weight: uniform(d, [8192], s + 1), residual: uniform(d, [4096, 8192], s + 2) }),
    },
  ],
  cost(i) {
    const x = i.x!;
    const [rows, n] = rowsCols(x.shape);
    const e = x.dtype === 'f32' ? 4 : 2;
    const passes = i.residual ? 4 : 2; // x, y (+ residual in, residual out)
    return { flops: 4 * rows * n, bytes: passes * rows * n * e + n * e + rows * 4 };
  },
  fuzz: rmsNormFuzz,
});
