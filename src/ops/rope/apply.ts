import type { FloatDType } from '../../dtype.js';
import { TRIG_ABS, U32, gamma, toDtype } from '../tolerance.js';
import type { RefTensor } from '../types.js';
import { ropeAttention, ropeFrequencies } from './frequencies.js';
import { ropeDims, rotaryDimOf, type RopeOpts } from './options.js';

/** Position of (batch b, sequence index s). */
function positionOf(positions: RefTensor | undefined, o: RopeOpts, b: number, s: number, seq: number): number {
  if (!positions) return o.offset + s;
  return positions.shape.length === 2 ? positions.data[b * seq + s] : positions.data[s];
}

// Cody–Waite constants the kernels use (wgsl/rope/trig.wgsl): 2π = C1 + C2 with C1 carrying
// 8 significant bits (so k·C1 is exact for |k| < 2^16), and the reduced angle clamped to
// the largest f32 below π.
const C1 = 6.28125;
const C2 = 0.0019353071693331003;
const PI_IN = 3.141592502593994;

/**
 * Absolute error bound of the kernel's cos/sin(θ) for an exact angle θ = pos·inv:
 *  - angle: f32(inv) and the product each round once (γ2·|θ|; γ3 when |pos| > 2^24 rounds too);
 *  - reduction r = (θ̂ − k·C1) − k·C2 with k = round(θ̂·f32(1/2π)): θ̂ − k·C1 is exact (Sterbenz;
 *    k·C1 exact below 2^16, else one rounding u·|k|·C1); C1 + C2 differs from 2π by ≤ u·C2
 *    per unit of k; k·C2 rounds (u·|k|·C2); the last subtraction rounds (u·|r|, |r| < 4);
 *  - the clamp to ±PI_IN moves r by at most how far it can overshoot π: k's rounding
 *    (γ2·|θ̂|, from f32(1/2π) and the product) + the reduction error + (π − PI_IN);
 *  - WGSL sin/cos on [-π, π]: TRIG_ABS; both are 1-Lipschitz, so angle errors add.
 */
export function trigError(theta: number, pos: number): number {
  const a = Math.abs(theta);
  const angle = (Math.abs(pos) > 2 ** 24 ? gamma(3) : gamma(2)) * a;
  const k = (a + angle) / (2 * Math.PI) + 1;
  const red = (k >= 2 ** 16 ? U32 * k * C1 : 0) + 2 * U32 * k * C2 + 4 * U32;
  const clamp = gamma(2) * (a + angle) + red + (Math.PI - PI_IN);
  return TRIG_ABS + angle + red + clamp;
}

/**
 * y = m·R(θ)·x on each pair (a, b) of the first rd dims of every head row (NeoX: (i, i+rd/2);
 * GPT-J: (2i, 2i+1)), θ = pos·inv[i]: y_a = m(a·cos θ − b·sin θ), y_b = m(b·cos θ + a·sin θ).
 * `sign` = −1 rotates by −θ (the backward). With `dtype`, also returns each element's bound
 * (e_t = trigError(θ), u = U32):
 *   cm = fl(ĉ·f32(m)):  |cm − m·cos θ| ≤ m·e_cs,  e_cs = e_t·(1+u)² + 2u + u²  (e_t when m = 1:
 *        the product is then exact), and |cm| ≤ m·(1 + e_t)·(1+u)²; the same for sin;
 *   ŷ = fl(fl(a·cm) ± fl(b·sm)), the 2-term rotation: γ2·(|a·cm| + |b·sm|) on top, so
 *   |ŷ − y| ≤ m·(|a| + |b|)·(e_cs + γ2·(1 + e_t)·(1+u)²), then toDtype.
 * Pass-through dims are copied exactly (bound: toDtype of 0).
 *
 * `inErr` (with `dtype`): x is itself a computed result that the kernel reads with error
 * |x' − x| ≤ inErr per element (fused_norm_qkv rotates its rounded projections): the
 * rotation's own bound is taken on |x| + inErr, and the rotated input error adds
 * m·(inErr_a + inErr_b) (|cos|, |sin| ≤ 1); a pass-through element keeps inErr.
 */
export function ropeApply(x: RefTensor, positions: RefTensor | undefined, o: RopeOpts, sign: 1 | -1, dtype?: FloatDType, inErr?: Float64Array) {
  const { b: B, s: S, h: H, d: D } = ropeDims(x.shape);
  const rd = rotaryDimOf(o, D);
  const half = rd / 2;
  const { inv, attention: m } = ropeFrequencies(o, rd);
  const out = new Float64Array(x.data);
  const bound = dtype ? (inErr ? new Float64Array(inErr) : new Float64Array(x.data.length)) : undefined;
  const u = U32;
  for (let bi = 0; bi < B; bi++) {
    for (let s = 0; s < S; s++) {
      const pos = positionOf(positions, o, bi, s, S);
      for (let h = 0; h < H; h++) {
        const row = ((bi * S + s) * H + h) * D;
        for (let i = 0; i < half; i++) {
          const ia = row + (o.style === 'neox' ? i : 2 * i);
          const ib = ia + (o.style === 'neox' ? half : 1);
          const th = pos * inv[i];
          const c = m * Math.cos(th);
          const sn = sign * m * Math.sin(th);
          const xa = x.data[ia];
          const xb = x.data[ib];
          out[ia] = xa * c - xb * sn;
          out[ib] = xb * c + xa * sn;
          if (bound) {
            const et = trigError(th, pos);
            const ecs = m === 1 ? et : et * (1 + u) ** 2 + 2 * u + u * u;
            const ea = inErr ? inErr[ia] : 0;
            const eb = inErr ? inErr[ib] : 0;
            const e = m * (Math.abs(xa) + ea + Math.abs(xb) + eb) * (ecs + gamma(2) * (1 + et) * (m === 1 ? 1 : (1 + u) ** 2)) + m * (ea + eb);
            bound[ia] = e;
            bound[ib] = e;
          }
        }
      }
    }
  }
  if (bound) for (let j = 0; j < bound.length; j++) bound[j] = toDtype(dtype!, out[j], bound[j]);
  return { out, bound };
}
