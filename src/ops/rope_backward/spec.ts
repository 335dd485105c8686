import { FLOAT_DTYPES, type FloatDType } from '../../dtype.js';
import { ropeApply } from '../rope/apply.js';
import { ropeBench, ropeCases, ropeCost } from '../rope/cases.js';
import { ropeCheck, ropeOptions, type RopeOpts } from '../rope/options.js';
import { defineOp } from '../types.js';
import { ropeBackwardRef } from './reference.js';
import { ropeFuzz } from '../rope/fuzz.js';

export { ropeOptions as ropeBackwardOptions, type RopeOptions as RopeBackwardOptions } from '../rope/options.js';

export const ropeBackward = defineOp({
  name: 'rope_backward',
  summary: 'Gradient of rope: dx = rotation of dy by −angle (same options and positions as the forward).',
  inputs: [
    { name: 'dy', doc: '[B, S, H, D] or [S, H, D] upstream gradient' },
    { name: 'positions', optional: true, doc: 'i32 [S] or [B, S]; default offset + s' },
  ],
  outputs: [{ name: 'dx', doc: 'shape and dtype of dy' }],
  options: ropeOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    return { dx: ropeCheck('rope_backward', 'dy', i.dy, i.positions, o) };
  },
  reference(i, o) {
    const dy = i.dy!;
    return { dx: { dtype: dy.dtype, shape: dy.shape, data: ropeBackwardRef(dy, i.positions, o) } };
  },
  bounds(i, o) {
    // The forward's bound with sin negated (same roundings; see rope/apply.ts).
    return { dx: ropeApply(i.dy!, i.positions, o, -1, i.dy!.dtype as FloatDType).bound };
  },
  cases: ropeCases('dy'),
  bench: ropeBench('dy'),
  cost(i, o) {
    return ropeCost(i.dy!, i.positions, o);
  },
  gradCheck: {
    forward: 'rope',
    grads: { x: 'dx' },
    upstream: { y: 'dy' },
    backwardInputs: (fin, _fout, up) => ({ dy: up.y, ...(fin.positions ? { positions: fin.positions } : {}) }),
  },
  fuzz: ropeFuzz('dy'),
});
