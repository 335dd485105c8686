import type { FloatDType } from '../../dtype.js';
import { rng, uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase } from '../types.js';

/**
 * A KV-cache write: B sequences of Snew new tokens (k/v of the case's dtype) at `positions`
 * into a contiguous cache of Smax positions or a paged one (blocks of `blockSize`, `numBlocks`
 * of them, tables of `maxBlocks`), of dtype `cache` (default: k's). The caches start with
 * random values (what is not written must keep them). Block tables map each sequence's
 * entries up to the last one it writes to distinct blocks (a seeded shuffle; −1 past them);
 * `badTable` puts an out-of-range block into sequence b's first written entry.
 */
export interface KvProblem {
  positions: number[];
  snew: number;
  hkv: number;
  d: number;
  dv?: number;
  cache?: FloatDType;
  smax?: number;
  paged?: { blockSize: number; numBlocks: number; maxBlocks: number };
  badTable?: number;
  /** |k|, |v| ≤ range (1e5: past f16's range; 1e-6: f16 subnormals). */
  range?: number;
  quick?: boolean;
}

export function kvLabel(p: KvProblem): string {
  return [
    `b=${p.positions.length},snew=${p.snew},pos=[${p.positions}]`,
    `hkv=${p.hkv},d=${p.d}`,
    p.dv !== undefined && p.dv !== p.d ? `dv=${p.dv}` : '',
    p.paged ? `paged=${p.paged.blockSize}x${p.paged.numBlocks}/${p.paged.maxBlocks}` : `smax=${p.smax}`,
    p.cache ? `cache=${p.cache}` : '',
    p.badTable !== undefined ? `badTable=${p.badTable}` : '',
    p.range !== undefined ? `range=${p.range}` : '',
  ]
    .filter(Boolean)
    .join(',');
}

/** Table entries [0, last written] of each sequence (clamped to the table), for a start position. */
const lastEntry = (p: KvProblem, pos: number): number => {
  const { blockSize, maxBlocks } = p.paged!;
  const last = Math.floor((Math.max(0, pos) + Math.max(1, p.snew) - 1) / blockSize);
  return Math.min(maxBlocks - 1, Math.max(0, Number.isFinite(last) ? last : maxBlocks - 1));
};

export function kvInputs(p: KvProblem, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const b = p.positions.length;
  const dv = p.dv ?? p.d;
  const r = p.range ?? 2;
  const cdt = p.cache ?? dtype;
  const cacheShape = (hd: number) => (p.paged ? [p.paged.numBlocks, p.paged.blockSize, p.hkv, hd] : [b, p.hkv, p.smax!, hd]);
  const out: Record<string, HostTensor> = {
    k: uniform(dtype, [b, p.snew, p.hkv, p.d], seed, -r, r),
    v: uniform(dtype, [b, p.snew, p.hkv, dv], seed + 1, -r, r),
    kCache: uniform(cdt, cacheShape(p.d), seed + 2, -1, 1),
    vCache: uniform(cdt, cacheShape(dv), seed + 3, -1, 1),
    positions: { dtype: 'i32', shape: [b], data: Int32Array.from(p.positions) },
  };
  if (p.paged) {
    const { numBlocks, maxBlocks } = p.paged;
    const g = rng(seed + 7);
    const order = Array.from({ length: numBlocks }, (_, x) => x);
    for (let x = numBlocks - 1; x > 0; x--) {
      const y = Math.floor(g() * (x + 1));
      [order[x], order[y]] = [order[y], order[x]];
    }
    const table = new Int32Array(b * maxBlocks).fill(-1);
    let next = 0;
    for (let s = 0; s < b; s++) {
      for (let x = 0; x <= lastEntry(p, p.positions[s]); x++) table[s * maxBlocks + x] = order[next++ % numBlocks];
      if (p.badTable === s) table[s * maxBlocks + Math.min(maxBlocks - 1, Math.floor(Math.max(0, p.positions[s]) / p.paged.blockSize))] = numBlocks + 3;
    }
    out.blockTable = { dtype: 'i32', shape: [b, maxBlocks], data: table };
  }
  return out;
}

export const kvCase = (p: KvProblem): OpCase => ({ label: kvLabel(p), options: {}, quick: p.quick, make: (d, s) => kvInputs(p, d, s) });

const paged = (blockSize: number, numBlocks: number, maxBlocks: number) => ({ blockSize, numBlocks, maxBlocks });

export const KV_PROBLEMS: KvProblem[] = [
  { positions: [3, 0, 1], snew: 1, hkv: 1, d: 8, smax: 4, quick: true }, // a decode step, one at the last position
  { positions: [0, 5], snew: 3, hkv: 2, d: 16, dv: 32, smax: 8, quick: true }, // a prefill from 0, a write that fills the cache
  { positions: [2, 7], snew: 4, hkv: 2, d: 64, smax: 12, cache: 'f16', quick: true },
  { positions: [0], snew: 5, hkv: 3, d: 24, dv: 8, smax: 5, cache: 'bf16', quick: true },
  { positions: [1, 1], snew: 2, hkv: 1, d: 128, smax: 6, cache: 'f32', quick: true },
  { positions: [3, 14, 0], snew: 5, hkv: 2, d: 16, paged: paged(4, 16, 5), quick: true }, // writes across blocks
  { positions: [7, 31, 0, 16], snew: 1, hkv: 4, d: 32, dv: 256, paged: paged(8, 20, 4), cache: 'f16', quick: true },
  { positions: [-1, 5, 6, 2 ** 31 - 1, -(2 ** 31), 0], snew: 2, hkv: 1, d: 8, smax: 7, quick: true }, // invalid: nothing written
  { positions: [2, 9, 0], snew: 3, hkv: 1, d: 8, paged: paged(4, 12, 4), badTable: 1, quick: true }, // a bad block: nothing written
  { positions: [0, 3], snew: 2, hkv: 1, d: 16, smax: 5, cache: 'f16', range: 1e5, quick: true }, // past f16's range: ±∞
  { positions: [1], snew: 3, hkv: 2, d: 8, smax: 4, cache: 'f16', range: 1e-6, quick: true }, // f16 subnormals
  { positions: [1], snew: 3, hkv: 2, d: 8, smax: 4, cache: 'bf16', range: 1e-6, quick: true },
  { positions: [0, 100], snew: 256, hkv: 8, d: 128, smax: 512, cache: 'f16' }, // prefill
  { positions: [0, 40], snew: 100, hkv: 2, d: 256, dv: 64, paged: paged(16, 20, 10) },
];

/** Bench (f16 caches, D = 128, Hkv = 8): a decode step of 16 sequences at 4k context, contiguous and paged; a 2048-token prefill. */
export const KV_BENCH: BenchShape[] = (
  [
  { positions: Array(16).fill(4095), snew: 1, hkv: 8, d: 128, smax: 4096, cache: 'f16' },
  { positions: Array(16).fill(4095), snew: 1, hkv: 8, d: 128, paged: paged(16, 16 * 256, 256), cache: 'f16' },
    { positions: [0], snew: 2048, hkv: 8, d: 128, smax: 4096, cache: 'f16' },
  ] as KvProblem[]
).map((p: KvProblem) => ({ label: kvLabel(p).replace(/pos=\[[^\]]*\]/, `pos=${p.positions[0]}`), options: {}, make: (d: FloatDType, s: number) => kvInputs(p, d, s) }));
