import { FLOAT_DTYPES, type FloatDType } from '../../dtype.js';
import { defineOp, type TensorInfo } from '../types.js';
import { ropeApply } from './apply.js';
import { ropeBench, ropeCases, ropeCost } from './cases.js';
import { ropeFuzz } from './fuzz.js';
import { ropeCheck, ropeOptions } from './options.js';

/**
 * rope and rope_backward are one op in two directions: the rotation by +angle of x (y), and
 * by −angle of dy (dx), since R(θ)ᵀ = R(−θ). This declares either from its names and sign;
 * each op's spec.ts adds only what is its own (the gradient check).
 */
export function ropeOp<const X extends 'x' | 'dy', const Y extends 'y' | 'dx'>(d: { name: string; summary: string; x: X; xDoc: string; y: Y; yDoc: string; sign: 1 | -1 }) {
  const one = <T>(v: T) => ({ [d.y]: v }) as { [K in Y]: T };
  return defineOp({
    name: d.name,
    summary: d.summary,
    inputs: [
      { name: d.x, doc: d.xDoc },
      { name: 'positions', optional: true, doc: 'i32 [S] or [B, S]; default offset + s' },
    ],
    outputs: [{ name: d.y, doc: d.yDoc }],
    options: ropeOptions,
    dtypes: FLOAT_DTYPES,
    check(i, o) {
      return one<TensorInfo>(ropeCheck(d.name, d.x, i[d.x], i.positions, o));
    },
    reference(i, o) {
      const x = i[d.x]!;
      return one({ dtype: x.dtype, shape: x.shape, data: ropeApply(x, i.positions, o, d.sign).out });
    },
    bounds(i, o) {
      // Derived in apply.ts (trigError, ropeApply): the angle's f32 rounding (γ2·|θ|), the
      // Cody–Waite reduction and clamp into [-π, π], TRIG_ABS for sin/cos, the attention
      // factor's product, the 2-term rotation (γ2), then the rounding to the dtype — the
      // same roundings in either direction (sin negated).
      const x = i[d.x]!;
      return one(ropeApply(x, i.positions, o, d.sign, x.dtype as FloatDType).bound);
    },
    cases: ropeCases(d.x),
    bench: ropeBench(d.x),
    cost(i, o) {
      return ropeCost(i[d.x]!, i.positions, o);
    },
    fuzz: ropeFuzz(d.x),
  });
}
