import { chance, dim, fuzzCase, int, pick, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { normQkvInputs, normQkvLabel, normQkvOptions, type NormQkvDef } from './cases.js';

const SCALINGS = [
  undefined,
  { type: 'linear', factor: 4 },
  { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
  { type: 'yarn', factor: 4, originalMaxPositions: 4096 },
] as const;

/**
 * T across the GEMV's range and past it, K off the tiles (odd or a word ± 1), head counts and
 * dims (GQA and not), v's own width, each optional input with probability ½, rope styles,
 * partial rotary and scalings, and a KV-cache write (either layout) on ~30% of the cases whose
 * head dims allow one.
 */
export function normQkvFuzz(r: Rand): OpCase {
  const d0 = chance(r, 0.5) ? pick(r, [8, 16, 32, 64]) : 2 * dim(r, 40);
  const hkv = dim(r, 4);
  const hq = hkv * pick(r, [1, 2, 4]);
  const k = chance(r, 0.5) ? 8 * dim(r, 300) : dim(r, 1100);
  const n = (hq + 2 * hkv) * d0;
  const t = chance(r, 0.7) ? dim(r, 16) : dim(r, Math.max(1, Math.min(48, Math.floor((1 << 19) / (k * n)))));
  const rope: Record<string, unknown> = {};
  if (chance(r, 0.4)) rope.style = 'gptj';
  if (chance(r, 0.3)) rope.rotaryDim = 2 * int(r, 1, d0 / 2);
  const sc = pick(r, SCALINGS);
  if (sc) rope.scaling = sc;
  const def: NormQkvDef = {
    t,
    k,
    hq,
    hkv,
    d: d0,
    nv: chance(r, 0.3) ? dim(r, 200) : undefined,
    residual: chance(r, 0.5),
    bias: chance(r, 0.4),
    maxPos: chance(r, 0.7) ? pick(r, [16, 4096, 131072]) : undefined,
    rope,
  };
  if (def.maxPos === undefined) def.rope = undefined;
  // A cache write where the head dims are ones decode_attention reads (multiples of 8): B a
  // divisor of T, contiguous or paged, the cache's own dtype, start positions up to one past
  // the last valid one (that sequence writes nothing).
  const dv = def.nv === undefined ? d0 : def.nv / hkv;
  if (d0 % 8 === 0 && d0 <= 256 && Number.isInteger(dv) && dv % 8 === 0 && dv <= 256 && chance(r, 0.3)) {
    const bs = Array.from({ length: t }, (_, j) => j + 1).filter((b) => t % b === 0);
    const b = pick(r, bs);
    const snew = t / b;
    const cap = snew + int(r, 0, 40);
    const positions = Array.from({ length: b }, () => int(r, 0, cap - snew + (chance(r, 0.1) ? 1 : 0)));
    const cdt = pick(r, [undefined, 'f32', 'f16', 'bf16'] as const);
    if (chance(r, 0.5)) {
      const blockSize = pick(r, [1, 4, 16]);
      const maxBlocks = Math.ceil(cap / blockSize);
      def.cache = { positions, paged: { blockSize, numBlocks: b * maxBlocks, maxBlocks }, ...(cdt ? { cache: cdt } : {}) };
    } else {
      def.cache = { positions, smax: cap, ...(cdt ? { cache: cdt } : {}) };
    }
  }
  return fuzzCase(normQkvLabel(def), normQkvOptions(def), (dt, s) => normQkvInputs(def, dt, s));
}
