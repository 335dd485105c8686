import { z } from 'zod';
import { FLOAT_DTYPES } from '../../dtype.js';
import { expectDtype, expectRank, expectShape, required } from '../check.js';
import { uniform } from '../random.js';
import { sigmoid, swigluBackwardRef } from '../swiglu/reference.js';
import { elementwiseCases } from '../swiglu/spec.js';
import { U32, ULP, boundsOf } from '../tolerance.js';
import { defineOp } from '../types.js';
import { swigluBackwardFuzz } from './fuzz.js';

export const swigluBackwardOptions = z.object({}).strict();
export type SwigluBackwardOptions = z.input<typeof swigluBackwardOptions>;

export const swigluBackward = defineOp({
  name: 'swiglu_backward',
  summary: 'Gradients of silu(gate)·up: dgate and dup (dtype of gate).',
  inputs: [
    { name: 'dy', doc: '[..., N] upstream gradient' },
    { name: 'gate', doc: '[..., N]' },
    { name: 'up', doc: '[..., N]' },
  ],
  outputs: [
    { name: 'dgate', doc: 'shape and dtype of gate' },
    { name: 'dup', doc: 'shape and dtype of up' },
  ],
  options: swigluBackwardOptions,
  dtypes: FLOAT_DTYPES,
  check(i) {
    const op = 'swiglu_backward';
    const g = required(op, 'gate', i.gate);
    expectRank(op, 'gate', g, [1, 2, 3, 4], 'rank 1 to 4');
    expectDtype(op, 'gate', g, FLOAT_DTYPES);
    expectShape(op, 'up', required(op, 'up', i.up), g.shape, g.dtype);
    expectShape(op, 'dy', required(op, 'dy', i.dy), g.shape, g.dtype);
    return { dgate: { dtype: g.dtype, shape: g.shape }, dup: { dtype: g.dtype, shape: g.shape } };
  },
  reference(i) {
    const r = swigluBackwardRef(i.dy!.data, i.gate!.data, i.up!.data);
    const info = { dtype: i.gate!.dtype, shape: i.gate!.shape };
    return { dgate: { ...info, data: r.dgate }, dup: { ...info, data: r.dup } };
  },
  bounds(i, _o, ref) {
    // The kernel computes s = 1/(1+e^{−g}) and 1−s = e^{−g}·s (no cancellation): each carries
    // ULP.exp + ULP.div + 2 roundings. t = g·(1−s) adds one; 1 + t may cancel, so its error
    // is absolute: k·U32·(1 + |t|). dgate = dy·up·s·(1+t): 3 more roundings on top, relative
    // to |dy·up·s|·(1+|t|). dup = dy·g·s: s's error and 2 roundings.
    const { dy, gate, up } = { dy: i.dy!.data, gate: i.gate!.data, up: i.up!.data };
    const k = (j: number) => ULP.exp(gate[j]) + ULP.div + 2;
    const dt = i.gate!.dtype;
    return {
      dgate: boundsOf(dt, ref.dgate!.data, (j) => {
        const s = sigmoid(gate[j]);
        const t = gate[j] * (1 - s);
        return (2 * k(j) + 6) * U32 * Math.abs(dy[j] * up[j] * s) * (1 + Math.abs(t));
      }),
      dup: boundsOf(dt, ref.dup!.data, (j) => (k(j) + 3) * U32 * Math.abs(ref.dup!.data[j])),
    };
  },
  cases: elementwiseCases(['dy', 'gate', 'up'], [
    [-1, 1],
    [-8, 8],
    [-2, 2],
  ]),
  bench: [
    {
      label: '8192x14336',
      options: {},
      make: (d, s) => ({ dy: uniform(d, [8192, 14336], s), gate: uniform(d, [8192, 14336], s + 1), up: uniform(d, [8192, 14336], s + 2) }),
    },
  ],
  cost(i) {
    const n = i.gate!.shape.reduce((a, b) => a * b, 1);
    const e = i.gate!.dtype === 'f32' ? 4 : 2;
    return { flops: 12 * n, bytes: 5 * n * e };
  },
  gradCheck: {
    forward: 'swiglu',
    grads: { gate: 'dgate', up: 'dup' },
    upstream: { y: 'dy' },
    backwardInputs: (fin, _fout, up) => ({ dy: up.y, gate: fin.gate, up: fin.up }),
  },
  fuzz: swigluBackwardFuzz,
});
