import { z } from 'zod';
import { FLOAT_DTYPES, maxFinite } from '../../dtype.js';
import { OptionsError, ShapeError } from '../../errors.js';
import { expectDtype, expectRank, expectSameDtype, finite, fmt, required } from '../check.js';
import type { TensorInfo } from '../types.js';
import { ropeFrequencies } from './frequencies.js';

/**
 * What rope and rope_backward share, in this folder: the options and shape checks (here),
 * the inverse frequencies (frequencies.ts, HF transformers' rope_type semantics in float64),
 * the float64 rotation and its error bound (apply.ts), the case catalogue and cost
 * (cases.ts). The backward is the same rotation by −angle (R(θ)ᵀ = R(−θ)), so one routine
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

/**
 * The optional second tensor rotated in the same call (k beside q; dk beside dy): x's rank,
 * dtype, batch, sequence and head dim, its own head count (GQA: Hk < H, or 1). The same
 * positions and options apply, so only the shapes need checking; one dispatch then covers
 * both (a decode step saves a launch per layer).
 */
export function ropeCheckSecond(op: string, kName: string, k: TensorInfo, xName: string, x: TensorInfo): TensorInfo {
  const { b, s, d } = ropeDims(x.shape);
  const want = x.shape.length === 4 ? `${b},${s},Hk,${d}` : `${s},Hk,${d}`;
  const what = `${x.dtype}[${want}] (the ${x.shape.length === 4 ? 'B, S' : 'S'} and D of ${xName}, any head count Hk)`;
  expectRank(op, kName, k, [x.shape.length], what);
  expectSameDtype(op, kName, k, x, xName);
  const kd = ropeDims(k.shape);
  if (kd.b !== b || kd.s !== s || kd.d !== d) throw new ShapeError(`[${op}] ${kName}: expected ${what}, got ${fmt(k)}`);
  return { dtype: k.dtype, shape: k.shape };
}
