import { z } from 'zod';
import { FLOAT_DTYPES, maxFinite, type FloatDType } from '../dtype.js';
import { OptionsError, ShapeError } from '../errors.js';
import { expectDtype, expectRank, finite, fmt, required } from './check.js';
import { randomInts, uniform } from './random.js';
import { TRIG_ABS, U32, gamma, toDtype } from './tolerance.js';
import type { BenchShape, Cost, HostTensor, OpCase, RefTensor, TensorInfo } from './types.js';

/**
 * What rope and rope_backward share: the options, the inverse frequencies (HF transformers'
 * rope_type semantics, computed in float64), the float64 rotation, the error bound and the
 * case catalogue. The backward is the same rotation by −angle (R(θ)ᵀ = R(−θ)), so one routine
 * serves both with the sign of sin as a parameter.
 */

const positiveInt = () => z.number().int().positive();

const scalingNone = z.object({ type: z.literal('none') }).strict();
const scalingLinear = z.object({ type: z.literal('linear'), factor: finite().positive() }).strict();
const scalingLlama3 = z
  .object({
    type: z.literal('llama3'),
    factor: finite().positive(),
    lowFreqFactor: finite().positive(),
    highFreqFactor: finite().positive(),
    originalMaxPositions: positiveInt(),
  })
  .strict()
  .refine((s) => s.highFreqFactor > s.lowFreqFactor, { message: 'expected highFreqFactor > lowFreqFactor', path: ['highFreqFactor'] });
const scalingYarn = z
  .object({
    type: z.literal('yarn'),
    factor: finite().positive(),
    originalMaxPositions: positiveInt(),
    betaFast: finite().positive().default(32),
    betaSlow: finite().positive().default(1),
    /** HF's `truncate`: floor/ceil the correction range (false: gpt-oss style fractional range). */
    truncate: z.boolean().default(true),
    /** Multiplies cos and sin; default 0.1·ln(factor) + 1 (or the mscale ratio below). */
    attentionFactor: finite().positive().optional(),
    /** DeepSeek-style: attention factor = g(factor, mscale) / g(factor, mscaleAllDim); both or neither. */
    mscale: finite().nonnegative().optional(),
    mscaleAllDim: finite().nonnegative().optional(),
  })
  .strict()
  .refine((s) => (s.mscale === undefined) === (s.mscaleAllDim === undefined), { message: 'expected mscale and mscaleAllDim together', path: ['mscale'] })
  .refine((s) => s.attentionFactor === undefined || s.mscale === undefined, { message: 'expected either attentionFactor or mscale/mscaleAllDim, not both', path: ['attentionFactor'] });

export const ropeScaling = z.discriminatedUnion('type', [scalingNone, scalingLinear, scalingLlama3, scalingYarn]);

export const ropeOptions = z
  .object({
    style: z.enum(['neox', 'gptj']).default('neox'),
    /** Rotated leading dims of each head (even, ≤ D; default D); the rest pass through. */
    rotaryDim: positiveInt().refine((v) => v % 2 === 0, 'expected an even number').optional(),
    base: finite().gt(1).default(10000),
    /** Position of s = 0 when no `positions` tensor is given. */
    offset: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    scaling: ropeScaling.default({ type: 'none' }),
  })
  .strict();
export type RopeOptions = z.input<typeof ropeOptions>;
export type RopeOpts = z.output<typeof ropeOptions>;

export interface RopeDims {
  b: number;
  s: number;
  h: number;
  d: number;
}

/** [B, S, H, D], or [S, H, D] as B = 1. */
export function ropeDims(shape: readonly number[]): RopeDims {
  const [b, s, h, d] = shape.length === 3 ? [1, ...shape] : shape;
  return { b, s, h, d };
}

export const rotaryDimOf = (o: RopeOpts, d: number): number => o.rotaryDim ?? d;

/** Shape, dtype and option checks shared by both ops; `xName` is x or dy. */
export function ropeCheck(op: string, xName: string, x0: TensorInfo | undefined, positions: TensorInfo | undefined, o: RopeOpts): TensorInfo {
  const x = required(op, xName, x0);
  expectRank(op, xName, x, [3, 4], '[B,S,H,D] or [S,H,D]');
  expectDtype(op, xName, x, FLOAT_DTYPES);
  const { b, s, d } = ropeDims(x.shape);
  const rd = rotaryDimOf(o, d);
  if (rd > d || rd % 2 !== 0) {
    const got = o.rotaryDim === undefined ? `the default, D = ${d}` : String(rd);
    throw new OptionsError(`[${op}] rotaryDim: expected an even number ≤ ${d} (the head dim of ${xName}), got ${got}`);
  }
  if (positions) {
    expectDtype(op, 'positions', positions, ['i32']);
    const ps = positions.shape;
    const ok = (ps.length === 1 && ps[0] === s) || (ps.length === 2 && ps[0] === b && ps[1] === s);
    if (!ok) throw new ShapeError(`[${op}] positions: expected i32[${s}] or i32[${b},${s}], got ${fmt(positions)}`);
    if (o.offset !== 0) throw new OptionsError(`[${op}] offset: expected 0 when positions is given, got ${o.offset}`);
  } else if (o.offset + s - 1 > 2 ** 31 - 1) {
    throw new OptionsError(`[${op}] offset: expected offset + S - 1 ≤ 2^31 - 1 (positions are i32), got ${o.offset} + ${s} - 1`);
  }
  // The kernels take the attention factor as f32 (it multiplies cos and sin): it must stay a
  // normal f32, or the rotation silently becomes 0 or Inf. The inverse frequencies go to an
  // f32 table and multiply an i32 position: ≤ 2^96 keeps |pos·inv_freq| < 2^127, finite.
  const { inv, attention: m } = ropeFrequencies(o, rd);
  if (!(m >= 2 ** -126 && m <= maxFinite('f32'))) {
    throw new OptionsError(`[${op}] scaling: expected an attention factor in [2^-126, 3.4028235e38] (a normal f32, the kernels' cos/sin multiplier), got ${m} from ${JSON.stringify(o.scaling)}`);
  }
  const big = inv.findIndex((f) => !(f <= 2 ** 96));
  if (big >= 0) {
    throw new OptionsError(`[${op}] scaling: expected every inverse frequency ≤ 2^96 (pos·inv_freq must stay finite in f32 for any i32 position), got inv_freq[${big}] = ${inv[big]} from base ${o.base} and ${JSON.stringify(o.scaling)}`);
  }
  return { dtype: x.dtype, shape: x.shape };
}

/** The frequency options alone: the cache key of an inverse-frequency table. */
export function freqKey(o: RopeOpts, rd: number): string {
  return JSON.stringify({ rd, base: o.base, scaling: o.scaling });
}

/** YaRN's mscale: 0.1·m·ln(s) + 1 for s > 1, else 1. */
const yarnMscale = (s: number, m: number) => (s <= 1 ? 1 : 0.1 * m * Math.log(s) + 1);

/**
 * Inverse frequencies inv[i] = base^(-2i/rd), i < rd/2, after scaling, in float64, and the
 * attention factor that multiplies cos and sin (1 except for YaRN). Same formulas as HF
 * transformers' _compute_{default,linear_scaling,llama3,yarn}_parameters.
 */
export function ropeFrequencies(o: RopeOpts, rd: number): { inv: Float64Array; attention: number } {
  const half = rd / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / o.base ** ((2 * i) / rd);
  const sc = o.scaling;
  let attention = 1;
  if (sc.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] /= sc.factor;
  } else if (sc.type === 'llama3') {
    // Wavelengths shorter than omp/highFreqFactor keep their frequency, longer than
    // omp/lowFreqFactor are divided by factor, and those between blend smoothly.
    const lowWl = sc.originalMaxPositions / sc.lowFreqFactor;
    const highWl = sc.originalMaxPositions / sc.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wl = (2 * Math.PI) / inv[i];
      if (wl < highWl) continue;
      if (wl > lowWl) inv[i] /= sc.factor;
      else {
        const smooth = (sc.originalMaxPositions / wl - sc.lowFreqFactor) / (sc.highFreqFactor - sc.lowFreqFactor);
        inv[i] = ((1 - smooth) * inv[i]) / sc.factor + smooth * inv[i];
      }
    }
  } else if (sc.type === 'yarn') {
    // Dimension whose wavelength makes `rot` turns over the original context.
    const corrDim = (rot: number) => (rd * Math.log(sc.originalMaxPositions / (rot * 2 * Math.PI))) / (2 * Math.log(o.base));
    let low = corrDim(sc.betaFast);
    let high = corrDim(sc.betaSlow);
    if (sc.truncate) {
      low = Math.floor(low);
      high = Math.ceil(high);
    }
    low = Math.max(low, 0);
    high = Math.min(high, rd - 1);
    if (low === high) high += 0.001;
    for (let i = 0; i < half; i++) {
      // ramp 0 → extrapolate (keep the frequency), 1 → interpolate (divide by factor).
      const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
      inv[i] = (inv[i] / sc.factor) * ramp + inv[i] * (1 - ramp);
    }
    attention = ropeAttention(o);
  }
  return { inv, attention };
}

/** The factor that multiplies cos and sin: 1 except for YaRN (attentionFactor, the mscale ratio, or 0.1·ln(factor) + 1). */
export function ropeAttention(o: RopeOpts): number {
  const sc = o.scaling;
  if (sc.type !== 'yarn') return 1;
  return sc.attentionFactor ?? (sc.mscale !== undefined ? yarnMscale(sc.factor, sc.mscale) / yarnMscale(sc.factor, sc.mscaleAllDim!) : yarnMscale(sc.factor, 1));
}

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
 */
export function ropeApply(x: RefTensor, positions: RefTensor | undefined, o: RopeOpts, sign: 1 | -1, dtype?: FloatDType) {
  const { b: B, s: S, h: H, d: D } = ropeDims(x.shape);
  const rd = rotaryDimOf(o, D);
  const half = rd / 2;
  const { inv, attention: m } = ropeFrequencies(o, rd);
  const out = new Float64Array(x.data);
  const bound = dtype ? new Float64Array(x.data.length) : undefined;
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
            const e = m * (Math.abs(xa) + Math.abs(xb)) * (ecs + gamma(2) * (1 + et) * (m === 1 ? 1 : (1 + u) ** 2));
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

interface CaseDef {
  b?: number;
  s: number;
  h: number;
  d: number;
  /** 'S' | 'BS': a positions tensor of that shape; otherwise offset + s. */
  positions?: 'S' | 'BS';
  maxPos?: number;
  options?: Record<string, unknown>;
  quick?: boolean;
}

const labelOf = (c: CaseDef): string => {
  const dims = c.b === undefined ? `S=${c.s},H=${c.h},D=${c.d}` : `B=${c.b},S=${c.s},H=${c.h},D=${c.d}`;
  const pos = c.positions ? `,positions=[${c.positions === 'S' ? 'S' : 'B,S'}]<${c.maxPos ?? 2048}` : '';
  const opts = Object.entries(c.options ?? {})
    .map(([k, v]) => (k === 'scaling' ? `scaling=${(v as { type: string }).type}` : `${k}=${String(v)}`))
    .join(',');
  return dims + pos + (opts ? `,${opts}` : '');
};

function makeInputs(c: CaseDef, xName: string, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const shape = c.b === undefined ? [c.s, c.h, c.d] : [c.b, c.s, c.h, c.d];
  const out: Record<string, HostTensor> = { [xName]: uniform(dtype, shape, seed, -2, 2) };
  if (c.positions) out.positions = randomInts('i32', c.positions === 'S' ? [c.s] : [c.b ?? 1, c.s], seed + 1, 0, c.maxPos ?? 2048);
  return out;
}

const llama3 = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
const yarn = { type: 'yarn', factor: 4, originalMaxPositions: 4096 };

/**
 * Curated shapes: a single pair, odd H and D (16-bit words shared by rows), rotaryDim < D,
 * NeoX with rotaryDim/2 odd (the webgpu elementwise fallback), [S] and [B,S] positions, a
 * large offset, each scaling type, both styles. Quick ones stay small (lavapipe); the others
 * are realistic head sizes.
 */
const CASES: CaseDef[] = [
  { s: 1, h: 1, d: 2, options: { offset: 7 }, quick: true },
  { b: 1, s: 5, h: 3, d: 8, options: { style: 'gptj' }, quick: true },
  { s: 7, h: 3, d: 10, options: { rotaryDim: 6 }, quick: true },
  { s: 3, h: 3, d: 5, options: { rotaryDim: 4, style: 'gptj' }, quick: true },
  { b: 2, s: 4, h: 5, d: 16, positions: 'BS', options: { style: 'gptj', rotaryDim: 8 }, quick: true },
  { b: 3, s: 6, h: 2, d: 32, positions: 'S', quick: true },
  { s: 3, h: 2, d: 64, options: { offset: 4000 }, quick: true },
  { s: 5, h: 2, d: 16, options: { scaling: { type: 'linear', factor: 4 } }, quick: true },
  { b: 1, s: 4, h: 2, d: 64, positions: 'BS', maxPos: 8192, options: { base: 500000, scaling: llama3 }, quick: true },
  { s: 4, h: 3, d: 64, positions: 'S', maxPos: 16384, options: { scaling: yarn }, quick: true },
  { s: 3, h: 2, d: 32, options: { style: 'gptj', offset: 100, scaling: { ...yarn, factor: 8, truncate: false, attentionFactor: 1.25 } }, quick: true },
  // One head with many work units (more than rope.wgsl's workgroup; rope_vec on webgpu).
  { s: 3, h: 1, d: 200, options: { rotaryDim: 160, style: 'gptj' }, quick: true },
  { s: 2, h: 1, d: 256, options: { rotaryDim: 192, offset: 50 }, quick: true },
  // webgpu: pairs on 32-bit but not on 16-byte words take rope.wgsl rather than rope_vec.wgsl
  // (16-bit D = 12; rotaryDim/2 = 12; f32 D = 6) — f32 of the first two takes rope_vec.
  { s: 4, h: 3, d: 12, positions: 'S', options: { rotaryDim: 8 }, quick: true },
  { s: 3, h: 2, d: 32, options: { rotaryDim: 24, offset: 9 }, quick: true },
  { b: 2, s: 3, h: 2, d: 6, positions: 'BS', options: { style: 'gptj' }, quick: true },
  // More work units than the workgroup: rope_vec's loop over units (every dtype), and
  // rope.wgsl's (16-bit D = 532 is not on 16-byte words; 266 GPT-J words per head).
  { s: 2, h: 1, d: 4160, options: { rotaryDim: 4128, offset: 3 }, quick: true },
  { s: 2, h: 2, d: 532, options: { style: 'gptj' }, quick: true },
  // Partial rotary at real head sizes, both styles (rope_vec's pass-through words).
  { b: 2, s: 3, h: 4, d: 128, positions: 'BS', options: { rotaryDim: 64 }, quick: true },
  { s: 5, h: 3, d: 64, options: { style: 'gptj', rotaryDim: 32, offset: 300 }, quick: true },
  { b: 2, s: 128, h: 8, d: 128, positions: 'BS', maxPos: 32768 },
  { b: 1, s: 256, h: 32, d: 128, options: { offset: 4000 } },
  { s: 33, h: 7, d: 96, options: { rotaryDim: 64, style: 'gptj' } },
  { b: 2, s: 64, h: 4, d: 128, positions: 'BS', maxPos: 131072, options: { base: 500000, scaling: llama3 } },
  { s: 64, h: 4, d: 64, positions: 'S', maxPos: 65536, options: { base: 10000, scaling: { ...yarn, factor: 40, mscale: 0.707, mscaleAllDim: 1 } } },
  { s: 65, h: 3, d: 130, options: { rotaryDim: 126 } },
  { b: 2, s: 48, h: 8, d: 128, positions: 'S', maxPos: 8192, options: { style: 'gptj' } },
  { b: 2, s: 40, h: 6, d: 128, positions: 'BS', options: { rotaryDim: 32 } },
];

export function ropeCases(xName: string): OpCase[] {
  return CASES.map((c) => ({ label: labelOf(c), options: c.options ?? {}, quick: c.quick, make: (dtype, seed) => makeInputs(c, xName, dtype, seed) }));
}

export function ropeBench(xName: string): BenchShape[] {
  const shapes: CaseDef[] = [
    { b: 1, s: 4096, h: 32, d: 128 },
    { b: 8, s: 2048, h: 8, d: 128, positions: 'BS', maxPos: 8192 },
    // A training batch (4 × 8k tokens): 268 MB of f16 each way, past the launch-bound regime.
    { b: 4, s: 8192, h: 32, d: 128 },
  ];
  return shapes.map((c) => ({ label: labelOf(c), options: c.options ?? {}, make: (dtype, seed) => makeInputs(c, xName, dtype, seed) }));
}

/** Per rotated pair: 4 multiplies, 2 adds (cos/sin not counted); x in, y out, positions in. */
export function ropeCost(x: TensorInfo, positions: TensorInfo | undefined, o: RopeOpts): Cost {
  const { b, s, h, d } = ropeDims(x.shape);
  const rd = rotaryDimOf(o, d);
  const e = x.dtype === 'f32' ? 4 : 2;
  const n = b * s * h * d;
  return { flops: 6 * b * s * h * (rd / 2), bytes: 2 * n * e + (positions ? positions.shape.reduce((p, q) => p * q, 1) * 4 : 0) };
}
