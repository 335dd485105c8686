import { FLOAT_DTYPES, type FloatDType } from '../../dtype.js';
import { defineOp, type TensorInfo } from '../types.js';
import { ropeApply } from './apply.js';
import { ropeBench, ropeCases, ropeCost } from './cases.js';
import { ropeFuzz } from './fuzz.js';
import { ropeCheck, ropeCheckSecond, ropeOptions } from './options.js';

/**
 * rope and rope_backward are one op in two directions: the rotation by +angle of x (y), and
 * by −angle of dy (dx), since R(θ)ᵀ = R(−θ). This declares either from its names and sign;
 * each op's spec.ts adds only what is its own (the gradient check).
 *
 * Each takes an optional second tensor (k beside q, dk beside dy: vLLM's
 * rotary_embedding(positions, query, key)) with its own head count, rotated by the same
 * positions and options into a second output (yk, dxk) — in the same dispatch, so a decoder
 * layer launches one rope, not two.
 */
export function ropeOp<const X extends 'x' | 'dy', const Y extends 'y' | 'dx', const K extends 'k' | 'dk', const YK extends 'yk' | 'dxk'>(d: {
  name: string;
  summary: string;
  x: X;
  xDoc: string;
  y: Y;
  yDoc: string;
  k: K;
  kDoc: string;
  yk: YK;
  ykDoc: string;
  sign: 1 | -1;
}) {
  type Outs = { [P in Y]: TensorInfo } & { [P in YK]?: TensorInfo };
  const outs = <T>(y: T, yk: T | undefined) => ({ [d.y]: y, ...(yk !== undefined ? { [d.yk]: yk } : {}) }) as { [P in Y]: T } & { [P in YK]?: T };
  return defineOp({
    name: d.name,
    summary: d.summary,
    inputs: [
      { name: d.x, doc: d.xDoc },
      { name: 'positions', optional: true, doc: 'i32 [S] or [B, S]; default offset + s' },
      { name: d.k, optional: true, doc: d.kDoc },
    ],
    outputs: [
      { name: d.y, doc: d.yDoc },
      { name: d.yk, optional: true, doc: d.ykDoc },
    ],
    options: ropeOptions,
    dtypes: FLOAT_DTYPES,
    check(i, o): Outs {
      const x = ropeCheck(d.name, d.x, i[d.x], i.positions, o);
      const k = i[d.k];
      return outs<TensorInfo>(x, k ? ropeCheckSecond(d.name, d.k, k, d.x, x) : undefined);
    },
    reference(i, o) {
      const x = i[d.x]!;
      const k = i[d.k];
      const y = { dtype: x.dtype, shape: x.shape, data: ropeApply(x, i.positions, o, d.sign).out };
      return outs(y, k ? { dtype: k.dtype, shape: k.shape, data: ropeApply(k, i.positions, o, d.sign).out } : undefined);
    },
    bounds(i, o) {
      // Derived in apply.ts (trigError, ropeApply): the angle's f32 rounding (γ2·|θ|), the
      // Cody–Waite reduction and clamp into [-π, π], TRIG_ABS for sin/cos, the attention
      // factor's product, the 2-term rotation (γ2), then the rounding to the dtype — the
      // same roundings in either direction (sin negated), and for k as for x.
      const x = i[d.x]!;
      const k = i[d.k];
      const dt = x.dtype as FloatDType;
      return outs(ropeApply(x, i.positions, o, d.sign, dt).bound, k ? ropeApply(k, i.positions, o, d.sign, dt).bound : undefined);
    },
    cases: ropeCases(d.x, d.k),
    bench: ropeBench(d.x, d.k),
    cost(i, o) {
      return ropeCost(i[d.x]!, i.positions, o, i[d.k]);
    },
    fuzz: ropeFuzz(d.x, d.k),
  });
}
