import { FLOAT_DTYPES, type FloatDType } from '../../dtype.js';
import { ropeApply } from './apply.js';
import { ropeBench, ropeCases, ropeCost } from './cases.js';
import { ropeCheck, ropeOptions, type RopeOpts } from './options.js';
import { defineOp } from '../types.js';
import { ropeRef } from './reference.js';
import { ropeFuzz } from './fuzz.js';

export { ropeOptions, type RopeOptions } from './options.js';

export const rope = defineOp({
  name: 'rope',
  summary: 'Rotary position embedding (NeoX or GPT-J pairs, partial rotary dim, linear/Llama-3/YaRN frequency scaling), positions from a tensor or an offset.',
  inputs: [
    { name: 'x', doc: '[B, S, H, D] or [S, H, D] queries or keys' },
    { name: 'positions', optional: true, doc: 'i32 [S] or [B, S]; default offset + s' },
  ],
  outputs: [{ name: 'y', doc: 'shape and dtype of x' }],
  options: ropeOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    return { y: ropeCheck('rope', 'x', i.x, i.positions, o) };
  },
  reference(i, o) {
    const x = i.x!;
    return { y: { dtype: x.dtype, shape: x.shape, data: ropeRef(x, i.positions, o) } };
  },
  bounds(i, o) {
    // Derived in rope/apply.ts (trigError, ropeApply): the angle's f32 rounding (γ2·|θ|),
    // the Cody–Waite reduction and clamp into [-π, π], TRIG_ABS for sin/cos, the attention
    // factor's product, the 2-term rotation (γ2), then the rounding to the dtype.
    return { y: ropeApply(i.x!, i.positions, o, 1, i.x!.dtype as FloatDType).bound };
  },
  cases: ropeCases('x'),
  bench: ropeBench('x'),
  cost(i, o) {
    return ropeCost(i.x!, i.positions, o);
  },
  fuzz: ropeFuzz('x'),
});
