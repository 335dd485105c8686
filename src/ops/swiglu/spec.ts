import { z } from 'zod';
import { FLOAT_DTYPES } from '../../dtype.js';
import { expectDtype, expectRank, expectShape, required } from '../check.js';
import { uniform } from '../random.js';
import { U32, ULP, boundsOf } from '../tolerance.js';
import { defineOp, type OpCase } from '../types.js';
import { swigluRef } from './reference.js';
import { swigluFuzz } from './fuzz.js';

export const swigluOptions = z.object({}).strict();
export type SwigluOptions = z.input<typeof swigluOptions>;

export const elementwiseCases = (names: string[], ranges: [number, number][]): OpCase[] =>
  (
    [
      [[1], true],
      [[7, 33], true],
      [[3, 4097], true],
      [[2, 5, 1001], true],
      [[8, 96], true],
      [[128, 11008], false],
    ] as [number[], boolean][]
  ).map(([shape, quick]) => ({
    label: `shape=${shape.join('x')}`,
    options: {},
    quick,
    make: (dtype, seed) => Object.fromEntries(names.map((n, k) => [n, uniform(dtype, shape, seed + k, ranges[k][0], ranges[k][1])])),
  }));

export const swiglu = defineOp({
  name: 'swiglu',
  summary: 'SwiGLU: silu(gate)·up, elementwise.',
  inputs: [
    { name: 'gate', doc: '[..., N]' },
    { name: 'up', doc: '[..., N], same shape and dtype' },
  ],
  outputs: [{ name: 'y', doc: 'shape and dtype of gate' }],
  options: swigluOptions,
  dtypes: FLOAT_DTYPES,
  check(i) {
    const op = 'swiglu';
    const g = required(op, 'gate', i.gate);
    expectRank(op, 'gate', g, [1, 2, 3, 4], 'rank 1 to 4');
    expectDtype(op, 'gate', g, FLOAT_DTYPES);
    expectShape(op, 'up', required(op, 'up', i.up), g.shape, g.dtype);
    return { y: { dtype: g.dtype, shape: g.shape } };
  },
  reference(i) {
    return { y: { dtype: i.gate!.dtype, shape: i.gate!.shape, data: swigluRef(i.gate!.data, i.up!.data) } };
  },
  bounds(i, _o, ref) {
    // e^{−g} (ULP.exp), 1 + e (1 rounding, no cancellation: both positive), the division
    // (ULP.div), and the products g·… and ·up (2 roundings): all relative to |y|.
    const g = i.gate!.data;
    const y = ref.y!.data;
    return { y: boundsOf(i.gate!.dtype, y, (j) => (ULP.exp(g[j]) + 1 + ULP.div + 2) * U32 * Math.abs(y[j])) };
  },
  cases: elementwiseCases(['gate', 'up'], [
    [-8, 8],
    [-2, 2],
  ]),
  bench: [
    { label: '8192x14336', options: {}, make: (d, s) => ({ gate: uniform(d, [8192, 14336], s), up: uniform(d, [8192, 14336], s + 1) }) },
  ],
  cost(i) {
    const n = i.gate!.shape.reduce((a, b) => a * b, 1);
    const e = i.gate!.dtype === 'f32' ? 4 : 2;
    return { flops: 6 * n, bytes: 3 * n * e };
  },
  fuzz: swigluFuzz,
});
