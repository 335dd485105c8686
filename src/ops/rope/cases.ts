import type { FloatDType } from '../../dtype.js';
import { randomInts, uniform } from '../random.js';
import type { BenchShape, Cost, HostTensor, OpCase, TensorInfo } from '../types.js';
import { ropeDims, rotaryDimOf, type RopeOpts } from './options.js';

interface CaseDef {
  b?: number;
  s: number;
  h: number;
  /** Heads of a second tensor (k) rotated in the same call; absent: x alone. */
  hk?: number;
  d: number;
  /** 'S' | 'BS': a positions tensor of that shape; otherwise offset + s. */
  positions?: 'S' | 'BS';
  maxPos?: number;
  options?: Record<string, unknown>;
  quick?: boolean;
}

const labelOf = (c: CaseDef): string => {
  const hk = c.hk === undefined ? '' : `,Hk=${c.hk}`;
  const dims = c.b === undefined ? `S=${c.s},H=${c.h}${hk},D=${c.d}` : `B=${c.b},S=${c.s},H=${c.h}${hk},D=${c.d}`;
  const pos = c.positions ? `,positions=[${c.positions === 'S' ? 'S' : 'B,S'}]<${c.maxPos ?? 2048}` : '';
  const opts = Object.entries(c.options ?? {})
    .map(([k, v]) => (k === 'scaling' ? `scaling=${(v as { type: string }).type}` : `${k}=${String(v)}`))
    .join(',');
  return dims + pos + (opts ? `,${opts}` : '');
};

function makeInputs(c: CaseDef, xName: string, kName: string, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const shape = (h: number) => (c.b === undefined ? [c.s, h, c.d] : [c.b, c.s, h, c.d]);
  const out: Record<string, HostTensor> = { [xName]: uniform(dtype, shape(c.h), seed, -2, 2) };
  if (c.hk !== undefined) out[kName] = uniform(dtype, shape(c.hk), seed + 2, -2, 2);
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
  // q and k in one call (GQA: Hk < H, Hk = 1; and Hk > H), through every webgpu kernel:
  // rope_vec (D = 64/128, partial rotary's pass-through words), rope.wgsl (16-bit D = 12;
  // f32 D = 6; units looped over at D = 532), rope_elementwise (odd D; NeoX with rd/2 odd),
  // and YaRN's attention factor applied to both.
  { s: 1, h: 32, hk: 8, d: 64, options: { offset: 4000 }, quick: true },
  { s: 3, h: 4, hk: 1, d: 64, options: { offset: 17 }, quick: true },
  { b: 2, s: 5, h: 8, hk: 2, d: 128, positions: 'BS', options: { rotaryDim: 64 }, quick: true },
  { b: 2, s: 3, h: 3, hk: 1, d: 32, positions: 'S', options: { style: 'gptj' }, quick: true },
  { s: 2, h: 1, hk: 3, d: 16, quick: true },
  { s: 4, h: 3, hk: 1, d: 12, positions: 'S', options: { rotaryDim: 8 }, quick: true },
  { b: 2, s: 3, h: 2, hk: 1, d: 6, positions: 'BS', options: { style: 'gptj' }, quick: true },
  { s: 2, h: 2, hk: 1, d: 532, options: { style: 'gptj' }, quick: true },
  { s: 3, h: 3, hk: 2, d: 5, options: { rotaryDim: 4, style: 'gptj' }, quick: true },
  { s: 7, h: 3, hk: 1, d: 10, options: { rotaryDim: 6 }, quick: true },
  { s: 4, h: 3, hk: 1, d: 64, positions: 'S', maxPos: 16384, options: { scaling: yarn }, quick: true },
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
  { b: 2, s: 64, h: 32, hk: 8, d: 64, positions: 'BS', maxPos: 131072, options: { base: 500000, scaling: llama3 } },
  { s: 33, h: 7, hk: 1, d: 96, options: { rotaryDim: 64, style: 'gptj' } },
];

export function ropeCases(xName: string, kName: string): OpCase[] {
  return CASES.map((c) => ({ label: labelOf(c), options: c.options ?? {}, quick: c.quick, make: (dtype, seed) => makeInputs(c, xName, kName, dtype, seed) }));
}

export function ropeBench(xName: string, kName: string): BenchShape[] {
  const shapes: CaseDef[] = [
    { b: 1, s: 4096, h: 32, d: 128 },
    { b: 8, s: 2048, h: 8, d: 128, positions: 'BS', maxPos: 8192 },
    // A training batch (4 × 8k tokens): 268 MB of f16 each way, past the launch-bound regime.
    { b: 4, s: 8192, h: 32, d: 128 },
    // q and k in one call at a 1B Llama's heads (32 q, 8 kv, D = 64): a decode step (one
    // token: launch-bound, the case the fused call is for; q alone beside it), and a prefill /
    // training batch.
    { s: 1, h: 32, d: 64, options: { offset: 1000 } },
    { s: 1, h: 32, hk: 8, d: 64, options: { offset: 1000 } },
    { b: 1, s: 4096, h: 32, hk: 8, d: 64, positions: 'BS', maxPos: 8192 },
  ];
  return shapes.map((c) => ({ label: labelOf(c), options: c.options ?? {}, make: (dtype, seed) => makeInputs(c, xName, kName, dtype, seed) }));
}

/** Per rotated pair: 4 multiplies, 2 adds (cos/sin not counted); x (and k) in, y (and yk) out, positions in. */
export function ropeCost(x: TensorInfo, positions: TensorInfo | undefined, o: RopeOpts, k?: TensorInfo): Cost {
  const { b, s, h, d } = ropeDims(x.shape);
  const heads = h + (k ? ropeDims(k.shape).h : 0);
  const rd = rotaryDimOf(o, d);
  const e = x.dtype === 'f32' ? 4 : 2;
  const n = b * s * heads * d;
  return { flops: 6 * b * s * heads * (rd / 2), bytes: 2 * n * e + (positions ? positions.shape.reduce((p, q) => p * q, 1) * 4 : 0) };
}
