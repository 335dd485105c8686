import type { FloatDType } from '../../dtype.js';
import { rng, uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase } from '../types.js';

/**
 * A decode problem: B sequences of T new tokens against a contiguous cache of Smax keys or a
 * paged one (blocks of `blockSize`, `numBlocks` of them, tables of `maxBlocks`). Block tables
 * are a seeded shuffle of the blocks; entries past a sequence's length are −1 (the kernels
 * must never read them). `badTable` puts an out-of-range block into sequence b's used entries.
 */
export interface DecodeProblem {
  lengths: number[];
  t: number;
  hq: number;
  hkv: number;
  d: number;
  dv?: number;
  smax?: number;
  paged?: { blockSize: number; numBlocks: number; maxBlocks: number };
  badTable?: number;
  window?: number;
  softcap?: number;
  scale?: number;
  sinks?: boolean;
  range?: number;
  quick?: boolean;
}

export function decodeLabel(p: DecodeProblem): string {
  return [
    `b=${p.lengths.length},t=${p.t},len=[${p.lengths}]`,
    `hq=${p.hq},hkv=${p.hkv},d=${p.d}`,
    p.dv !== undefined && p.dv !== p.d ? `dv=${p.dv}` : '',
    p.paged ? `paged=${p.paged.blockSize}x${p.paged.numBlocks}/${p.paged.maxBlocks}` : `smax=${p.smax}`,
    p.badTable !== undefined ? `badTable=${p.badTable}` : '',
    p.window !== undefined ? `window=${p.window}` : '',
    p.softcap !== undefined ? `softcap=${p.softcap}` : '',
    p.scale !== undefined ? `scale=${p.scale}` : '',
    p.sinks ? 'sinks' : '',
    p.range !== undefined ? `range=${p.range}` : '',
  ]
    .filter(Boolean)
    .join(',');
}

export function decodeOptionsOf(p: DecodeProblem): Record<string, unknown> {
  return {
    ...(p.window !== undefined ? { window: { left: p.window } } : {}),
    ...(p.softcap !== undefined ? { softcap: p.softcap } : {}),
    ...(p.scale !== undefined ? { scale: p.scale } : {}),
  };
}

export function decodeInputs(p: DecodeProblem, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const b = p.lengths.length;
  const dv = p.dv ?? p.d;
  const r = p.range ?? 2;
  const kvShape = (hd: number) => (p.paged ? [p.paged.numBlocks, p.paged.blockSize, p.hkv, hd] : [b, p.hkv, p.smax!, hd]);
  const out: Record<string, HostTensor> = {
    q: uniform(dtype, [b, p.t, p.hq, p.d], seed, -r, r),
    kCache: uniform(dtype, kvShape(p.d), seed + 1, -r, r),
    vCache: uniform(dtype, kvShape(dv), seed + 2, -1, 1),
    lengths: { dtype: 'i32', shape: [b], data: Int32Array.from(p.lengths) },
  };
  if (p.paged) {
    const { blockSize, numBlocks, maxBlocks } = p.paged;
    const g = rng(seed + 7);
    const order = Array.from({ length: numBlocks }, (_, x) => x);
    for (let x = numBlocks - 1; x > 0; x--) {
      const y = Math.floor(g() * (x + 1));
      [order[x], order[y]] = [order[y], order[x]];
    }
    const table = new Int32Array(b * maxBlocks).fill(-1);
    for (let s = 0; s < b; s++) {
      const used = Math.min(maxBlocks, Math.ceil(Math.max(0, p.lengths[s]) / blockSize));
      for (let x = 0; x < used; x++) table[s * maxBlocks + x] = order[(s * maxBlocks + x) % numBlocks];
      if (p.badTable === s && used > 0) table[s * maxBlocks + used - 1] = numBlocks + 3;
    }
    out.blockTable = { dtype: 'i32', shape: [b, maxBlocks], data: table };
  }
  if (p.sinks) out.sinks = uniform('f32', [p.hq], seed + 3, -1, 3);
  return out;
}

export const decodeCase = (p: DecodeProblem): OpCase => ({ label: decodeLabel(p), options: decodeOptionsOf(p), quick: p.quick, make: (d, s) => decodeInputs(p, d, s) });

const paged = (blockSize: number, numBlocks: number, maxBlocks: number) => ({ blockSize, numBlocks, maxBlocks });

export const DECODE_PROBLEMS: DecodeProblem[] = [
  { lengths: [1], t: 1, hq: 1, hkv: 1, d: 8, smax: 1, quick: true },
  { lengths: [37, 1], t: 1, hq: 4, hkv: 1, d: 64, smax: 40, quick: true },
  { lengths: [4, 29, 0], t: 4, hq: 8, hkv: 2, d: 128, smax: 31, quick: true }, // length = T, a full cache, an empty one
  { lengths: [2, 9], t: 4, hq: 2, hkv: 2, d: 16, smax: 12, sinks: true, quick: true }, // length < T: rows that see nothing
  { lengths: [20, 17], t: 16, hq: 2, hkv: 1, d: 32, dv: 16, smax: 24, quick: true },
  { lengths: [35, 16, 3], t: 2, hq: 4, hkv: 2, d: 32, dv: 64, paged: paged(16, 9, 3), quick: true },
  { lengths: [50, 7], t: 3, hq: 8, hkv: 1, d: 256, paged: paged(8, 12, 7), window: 5, sinks: true, softcap: 20, quick: true },
  { lengths: [300, 45], t: 1, hq: 4, hkv: 4, d: 80, paged: paged(32, 12, 10), scale: 0.5, quick: true }, // several splits
  { lengths: [5, -1, 41], t: 1, hq: 2, hkv: 1, d: 16, smax: 40, quick: true }, // invalid lengths: NaN
  { lengths: [5, 30, 9], t: 2, hq: 2, hkv: 1, d: 16, paged: paged(8, 8, 4), badTable: 1, sinks: true, quick: true }, // a bad block: NaN
  { lengths: [8000, 4096, 1], t: 1, hq: 32, hkv: 8, d: 128, smax: 8192 },
  { lengths: [4000, 1234], t: 4, hq: 16, hkv: 2, d: 64, paged: paged(16, 400, 256), window: 1024 },
];

/**
 * Bench: a batch of 32 single-token decodes at 4k context, contiguous and paged (blocks of 16);
 * then issue 11's shapes — B = 1 and 16 at contexts 8192 and 32768, contiguous and paged — where
 * a step should stream the cache at memory bandwidth. GQA 4, D = 128.
 */
const benchProblem = (b: number, ctx: number, isPaged: boolean): DecodeProblem => ({ lengths: Array(b).fill(ctx), t: 1, hq: 32, hkv: 8, d: 128, ...(isPaged ? { paged: paged(16, b * (ctx / 16), ctx / 16) } : { smax: ctx }) });
export const DECODE_BENCH: BenchShape[] = [
  benchProblem(32, 4096, false),
  benchProblem(32, 4096, true),
  ...[1, 16].flatMap((b) => [8192, 32768].flatMap((ctx) => [benchProblem(b, ctx, false), benchProblem(b, ctx, true)])),
  // A step of the model bench's decode (`bench --model`, prompt 512 + 32 new tokens): the
  // Llama-3.2-1B heads (D = 64) at B = 1 and 16, and Llama-3.1-8B's (D = 128) at B = 1.
  { ...benchProblem(1, 544, false), d: 64 },
  { ...benchProblem(16, 544, false), d: 64 },
  benchProblem(1, 544, false),
].map((p: DecodeProblem) => ({ label: decodeLabel(p).replace(/len=\[[^\]]*\]/, `len=${p.lengths[0]}`), options: decodeOptionsOf(p), make: (d: FloatDType, s: number) => decodeInputs(p, d, s) }));
