import { chance, dim, fuzzCase, int, pick, type Rand } from '../fuzz.js';
import { randomInts, uniform } from '../random.js';
import type { OpCase } from '../types.js';

const SCALINGS = [
  { type: 'none' },
  { type: 'linear', factor: 4 },
  { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
  { type: 'yarn', factor: 4, originalMaxPositions: 4096 },
  { type: 'yarn', factor: 16, originalMaxPositions: 4096, truncate: false, mscale: 0.707, mscaleAllDim: 1 },
] as const;

/**
 * rope and rope_backward (x or dy): head dims 2…520 (odd pairs, tile ± 2), partial rotary,
 * both styles, every scaling, positions as [S] / [B,S] tensors or an offset; half the draws
 * rotate a second tensor (k or dk) of 1…9 heads in the same call.
 */
export function ropeFuzz(xName: 'x' | 'dy', kName: 'k' | 'dk'): (r: Rand) => OpCase {
  return (r) => {
    const d = chance(r, 0.5) ? pick(r, [64, 80, 96, 128, 256]) : 2 * dim(r, 260);
    const h = dim(r, 9);
    const s = dim(r, Math.max(1, Math.min(130, Math.floor((1 << 16) / (h * d)))));
    const b = chance(r, 0.4) ? int(r, 1, 3) : undefined;
    const options: Record<string, unknown> = {};
    if (chance(r, 0.4)) options.style = 'gptj';
    if (chance(r, 0.3)) options.rotaryDim = 2 * int(r, 1, d / 2);
    if (chance(r, 0.3)) options.base = pick(r, [500000, 1000000, 100]);
    const scaling = pick(r, SCALINGS);
    if (scaling.type !== 'none') options.scaling = scaling;
    const positions = chance(r, 0.5) ? (b !== undefined && chance(r, 0.5) ? 'BS' : 'S') : undefined;
    const maxPos = pick(r, [16, 2048, 131072]);
    if (!positions && chance(r, 0.5)) options.offset = int(r, 0, maxPos);
    const hk = chance(r, 0.5) ? dim(r, 9) : undefined;
    const shapeOf = (heads: number) => (b === undefined ? [s, heads, d] : [b, s, heads, d]);
    const shape = shapeOf(h);
    const label = [`${xName}=[${shape}]`, hk !== undefined ? `${kName}=[${shapeOf(hk)}]` : '', positions ? `positions=[${positions === 'S' ? 'S' : 'B,S'}]<${maxPos}` : '', ...Object.entries(options).map(([k, v]) => (k === 'scaling' ? `scaling=${(v as { type: string }).type}` : `${k}=${v}`))]
      .filter(Boolean)
      .join(',');
    return fuzzCase(label, options, (dtype, seed) => ({
      [xName]: uniform(dtype, shape, seed, -2, 2),
      ...(hk !== undefined ? { [kName]: uniform(dtype, shapeOf(hk), seed + 2, -2, 2) } : {}),
      ...(positions ? { positions: randomInts('i32', positions === 'S' ? [s] : [b ?? 1, s], seed + 1, 0, maxPos) } : {}),
    }));
  };
}
