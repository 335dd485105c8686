import { z } from 'zod';
import { FLOAT_DTYPES, toFloat64 } from '../../dtype.js';
import { expectDtype, expectRank, expectShape, positiveNormalF32, required, rowsCols } from '../check.js';
import { uniform } from '../random.js';
import { U32, boundsOf } from '../tolerance.js';
import { defineOp, type OpCase } from '../types.js';
import { rmsNormBackwardRef, rstdOf } from './reference.js';
import { rmsNormBackwardFuzz } from './fuzz.js';

export const rmsNormBackwardOptions = z.object({ eps: positiveNormalF32().default(1e-6) }).strict();
export type RmsNormBackwardOptions = z.input<typeof rmsNormBackwardOptions>;

const shapes = (rows: number, cols: number, withRstd: boolean, quick: boolean): OpCase => ({
  label: `rows=${rows},cols=${cols}${withRstd ? ',rstd' : ''}`,
  options: {},
  quick,
  make: (dtype, seed) => {
    const x = uniform(dtype, [rows, cols], seed, -2, 2);
    // rstd as the forward stores it: f32, so the reference sees the rounded value too.
    const rstd = Float32Array.from(rstdOf({ ...x, data: toFloat64(dtype, x.data) }, 1e-6));
    return {
      dy: uniform(dtype, [rows, cols], seed + 1),
      x,
      weight: uniform(dtype, [cols], seed + 2, 0.5, 1.5),
      ...(withRstd ? { rstd: { dtype: 'f32' as const, shape: [rows], data: rstd } } : {}),
    };
  },
});

export const rmsNormBackward = defineOp({
  name: 'rms_norm_backward',
  summary: 'Gradients of RMSNorm: dx (dtype of x) and dw (f32, summed over rows). rstd from the forward is reused when given.',
  inputs: [
    { name: 'dy', doc: '[..., N] upstream gradient, dtype of x' },
    { name: 'x', doc: '[..., N] the forward input (after any residual add)' },
    { name: 'weight', doc: '[N]' },
    { name: 'rstd', optional: true, doc: 'f32 [rows] from the forward; recomputed when absent' },
  ],
  outputs: [
    { name: 'dx', doc: 'shape and dtype of x' },
    { name: 'dw', doc: 'f32 [N] summed over rows' },
  ],
  options: rmsNormBackwardOptions,
  dtypes: FLOAT_DTYPES,
  check(i) {
    const op = 'rms_norm_backward';
    const x = required(op, 'x', i.x);
    expectRank(op, 'x', x, [1, 2, 3, 4], '[..., N] with rank 1 to 4');
    expectDtype(op, 'x', x, FLOAT_DTYPES);
    const [rows, n] = rowsCols(x.shape);
    expectShape(op, 'dy', required(op, 'dy', i.dy), x.shape, x.dtype);
    expectShape(op, 'weight', required(op, 'weight', i.weight), [n], x.dtype);
    if (i.rstd) expectShape(op, 'rstd', i.rstd, [rows], 'f32');
    return { dx: { dtype: x.dtype, shape: x.shape }, dw: { dtype: 'f32', shape: [n] } };
  },
  // dw sums over the rows: over none it is 0 (dx is then empty).
  emptyResult(i) {
    return rowsCols(i.x!.shape)[0] === 0 ? { dw: 0 } : undefined;
  },
  reference(i, o) {
    const x = i.x!;
    const rstd = i.rstd ? i.rstd.data : rstdOf(x, o.eps);
    const r = rmsNormBackwardRef(i.dy!, x, i.weight!, rstd);
    return { dx: { dtype: x.dtype, shape: x.shape, data: r.dx }, dw: { dtype: 'f32', shape: [r.dw.length], data: r.dw } };
  },
  bounds(i, o, ref) {
    // r carries (N/2 + 10)·u relative error when recomputed (see rms_norm), r³ three times
    // that; Σ dy·w·x is an N-term sum (γ_N of Σ|·|); 6 more roundings for the products and
    // the difference. dw sums R rows (γ_R) of products carrying r's error and 2 roundings.
    const x = i.x!;
    const [rows, n] = rowsCols(x.shape);
    const rErr = i.rstd ? 1 : n / 2 + 10;
    const r = rmsNormBackwardRef(i.dy!, x, i.weight!, i.rstd ? i.rstd.data : rstdOf(x, o.eps));
    const kx = (3 * rErr + n + 6) * U32;
    const kw = (rErr + rows + 2) * U32;
    return {
      dx: boundsOf(x.dtype, ref.dx!.data, (j) => kx * r.dxMag[j]),
      dw: boundsOf('f32', ref.dw!.data, (j) => kw * r.dwMag[j]),
    };
  },
  cases: [
    shapes(1, 1, false, true),
    shapes(7, 33, false, true),
    shapes(3, 4096, false, true),
    shapes(5, 1000, false, true),
    shapes(130, 67, true, true),
    // Rows of a multiple of 16 bytes take the register path (blocks of R rows, R ≥ 4, and a
    // partial row per block): one row; a block count with a short last block; R = 5 with
    // more partials than the final level's slices; 16-bit rows of 8·k + 4 take the
    // streaming path with 16-byte partial loads.
    shapes(1, 8, true, true),
    shapes(37, 64, true, true),
    shapes(4099, 16, false, true),
    shapes(200, 100, true, true),
    shapes(64, 8192, false, false),
    shapes(1000, 257, false, false),
    shapes(4099, 48, true, false),
    shapes(2500, 9, false, false),
  ],
  bench: [
    {
      label: 'rows=16384,cols=4096',
      options: {},
      make: (d, s) => ({ dy: uniform(d, [16384, 4096], s), x: uniform(d, [16384, 4096], s + 1), weight: uniform(d, [4096], s + 2) }),
    },
  ],
  cost(i) {
    const [rows, n] = rowsCols(i.x!.shape);
    const e = i.x!.dtype === 'f32' ? 4 : 2;
    return { flops: 8 * rows * n, bytes: 3 * rows * n * e + n * (e + 4) + rows * 4 };
  },
  gradCheck: {
    forward: 'rms_norm',
    grads: { x: 'dx', weight: 'dw' },
    upstream: { y: 'dy' },
    applies: (c) => !c.label.includes('residual'),
    backwardInputs: (fin, fout, up) => ({ dy: up.y, x: fin.x, weight: fin.weight, rstd: fout.rstd }),
  },
  fuzz: rmsNormBackwardFuzz,
});
