import type { FloatDType } from '../../dtype.js';
import { uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase } from '../types.js';
import type { Layout } from './dims.js';

/**
 * One attention problem: padded (b, sq, sk) or varlen (per-sequence lengths, optional padding
 * tokens past the last sequence, or raw cu_seqlens to test malformed ones), heads, head dims
 * and options. Shared by the forward and backward ops' cases and their fuzzers.
 */
export interface AttnProblem {
  b?: number;
  sq: number;
  sk: number;
  hq: number;
  hkv: number;
  d: number;
  dv?: number;
  layout?: Layout;
  causal?: boolean;
  queryOffset?: number;
  window?: { left?: number; right?: number };
  softcap?: number;
  scale?: number;
  sinks?: boolean;
  /** Varlen: sequence lengths (sq/sk are then ignored) and padding tokens after them. */
  seqQ?: number[];
  seqK?: number[];
  padQ?: number;
  padK?: number;
  /** Raw cu_seqlens (malformed on purpose), with the packed totals sq/sk. */
  cuQ?: number[];
  cuK?: number[];
  /** q and k drawn from [−range, range] (v from [−1, 1]). */
  range?: number;
  quick?: boolean;
}

export const cumsum = (xs: number[]) => xs.reduce<number[]>((a, x) => [...a, a[a.length - 1] + x], [0]);

/** Packed totals and cu_seqlens of a varlen problem (undefined when padded). */
export function varlenOf(p: AttnProblem): { cuQ: number[]; cuK: number[]; totalQ: number; totalK: number } | undefined {
  if (p.cuQ && p.cuK) return { cuQ: p.cuQ, cuK: p.cuK, totalQ: p.sq, totalK: p.sk };
  if (!p.seqQ || !p.seqK) return undefined;
  const cuQ = cumsum(p.seqQ);
  const cuK = cumsum(p.seqK);
  // At least one token per tensor (a shape has no zero dimension).
  return { cuQ, cuK, totalQ: Math.max(1, cuQ[cuQ.length - 1] + (p.padQ ?? 0)), totalK: Math.max(1, cuK[cuK.length - 1] + (p.padK ?? 0)) };
}

function shape(layout: Layout, b: number | undefined, s: number, h: number, d: number): number[] {
  const inner = layout === 'bshd' ? [s, h, d] : [h, s, d];
  return b === undefined ? inner : [b, ...inner];
}

export function problemShapes(p: AttnProblem) {
  const layout = p.layout ?? 'bshd';
  const vl = varlenOf(p);
  const b = vl ? undefined : p.b ?? 1;
  const sq = vl ? vl.totalQ : p.sq;
  const sk = vl ? vl.totalK : p.sk;
  const dv = p.dv ?? p.d;
  return { layout, vl, q: shape(layout, b, sq, p.hq, p.d), k: shape(layout, b, sk, p.hkv, p.d), v: shape(layout, b, sk, p.hkv, dv), o: shape(layout, b, sq, p.hq, dv) };
}

export function problemOptions(p: AttnProblem): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (p.layout && p.layout !== 'bshd') o.layout = p.layout;
  if (p.scale !== undefined) o.scale = p.scale;
  if (p.causal) o.causal = true;
  if (p.queryOffset !== undefined) o.queryOffset = p.queryOffset;
  if (p.window) o.window = p.window;
  if (p.softcap !== undefined) o.softcap = p.softcap;
  return o;
}

export function problemLabel(p: AttnProblem): string {
  const vl = varlenOf(p);
  const parts = [
    vl ? (p.cuQ ? `cuQ=[${p.cuQ}],cuK=[${p.cuK}],tq=${p.sq},tk=${p.sk}` : `seqQ=[${p.seqQ}],seqK=[${p.seqK}]${p.padQ ? `,padQ=${p.padQ}` : ''}${p.padK ? `,padK=${p.padK}` : ''}`) : `b=${p.b ?? 1},sq=${p.sq},sk=${p.sk}`,
    `hq=${p.hq},hkv=${p.hkv},d=${p.d}`,
    p.dv !== undefined && p.dv !== p.d ? `dv=${p.dv}` : '',
    p.layout && p.layout !== 'bshd' ? p.layout : '',
    p.causal ? 'causal' : '',
    p.queryOffset !== undefined ? `offset=${p.queryOffset}` : '',
    p.window ? `window=${p.window.left ?? '∞'}:${p.window.right ?? '∞'}` : '',
    p.softcap !== undefined ? `softcap=${p.softcap}` : '',
    p.scale !== undefined ? `scale=${p.scale}` : '',
    p.sinks ? 'sinks' : '',
    p.range !== undefined ? `range=${p.range}` : '',
  ];
  return parts.filter(Boolean).join(',');
}

/** The forward inputs of a problem in a dtype (q, k in ±range, v in ±1, sinks in [−1, 3]). */
export function problemInputs(p: AttnProblem, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const s = problemShapes(p);
  const r = p.range ?? 2;
  const out: Record<string, HostTensor> = {
    q: uniform(dtype, s.q, seed, -r, r),
    k: uniform(dtype, s.k, seed + 1, -r, r),
    v: uniform(dtype, s.v, seed + 2, -1, 1),
  };
  if (p.sinks) out.sinks = uniform('f32', [p.hq], seed + 3, -1, 3);
  if (s.vl) {
    out.cuSeqlensQ = { dtype: 'i32', shape: [s.vl.cuQ.length], data: Int32Array.from(s.vl.cuQ) };
    out.cuSeqlensK = { dtype: 'i32', shape: [s.vl.cuK.length], data: Int32Array.from(s.vl.cuK) };
  }
  return out;
}

export const attnCase = (p: AttnProblem): OpCase => ({
  label: problemLabel(p),
  options: problemOptions(p),
  quick: p.quick,
  make: (dtype, seed) => problemInputs(p, dtype, seed),
});

/**
 * The curated problems. Quick ones stay tiny (lavapipe and the MSL host runtime are CPU
 * emulations): a few thousand elements per tensor at most.
 */
export const ATTN_PROBLEMS: AttnProblem[] = [
  { sq: 1, sk: 1, hq: 1, hkv: 1, d: 8, quick: true },
  { b: 2, sq: 1, sk: 37, hq: 4, hkv: 1, d: 64, quick: true }, // MQA, one query
  { sq: 37, sk: 1, hq: 2, hkv: 2, d: 32, quick: true }, // one key
  { b: 2, sq: 13, sk: 29, hq: 4, hkv: 4, d: 32, causal: true, quick: true }, // GQA 1
  { sq: 23, sk: 7, hq: 4, hkv: 1, d: 16, causal: true, quick: true }, // Sq > Sk: fully masked rows
  { sq: 11, sk: 19, hq: 8, hkv: 2, d: 64, causal: true, quick: true }, // GQA 4
  { sq: 9, sk: 33, hq: 8, hkv: 1, d: 32, quick: true }, // GQA 8 = MQA
  { sq: 5, sk: 21, hq: 16, hkv: 2, d: 16, causal: true, quick: true }, // GQA 8
  { sq: 7, sk: 17, hq: 2, hkv: 1, d: 80, quick: true },
  { sq: 6, sk: 15, hq: 2, hkv: 2, d: 96, causal: true, quick: true },
  { sq: 5, sk: 18, hq: 2, hkv: 1, d: 128, quick: true },
  { sq: 4, sk: 9, hq: 1, hkv: 1, d: 192, causal: true, quick: true },
  { sq: 3, sk: 10, hq: 2, hkv: 1, d: 256, quick: true },
  { sq: 6, sk: 13, hq: 2, hkv: 1, d: 40, quick: true }, // a head dim off every fast path
  { sq: 9, sk: 25, hq: 2, hkv: 1, d: 64, dv: 32, quick: true },
  { sq: 7, sk: 12, hq: 2, hkv: 2, d: 24, dv: 136, causal: true, quick: true },
  { b: 2, sq: 10, sk: 14, hq: 4, hkv: 2, d: 32, layout: 'bhsd', causal: true, quick: true },
  { sq: 20, sk: 20, hq: 2, hkv: 1, d: 16, causal: true, window: { left: 3 }, quick: true }, // sliding window < S
  { sq: 12, sk: 30, hq: 2, hkv: 2, d: 16, window: { left: 4, right: 2 }, quick: true }, // both sides, not causal
  { sq: 14, sk: 14, hq: 2, hkv: 1, d: 32, causal: true, window: { left: 100 }, quick: true }, // window > S
  { sq: 8, sk: 24, hq: 2, hkv: 1, d: 16, window: { right: 0 }, queryOffset: 3, quick: true }, // right side only = causal
  { sq: 10, sk: 16, hq: 2, hkv: 2, d: 32, causal: true, queryOffset: -4, quick: true }, // explicit offset: leading empty rows
  { sq: 16, sk: 40, hq: 4, hkv: 2, d: 32, softcap: 5, range: 4, quick: true },
  { sq: 12, sk: 20, hq: 4, hkv: 1, d: 32, causal: true, softcap: 30, scale: 0.5, quick: true },
  { sq: 9, sk: 5, hq: 4, hkv: 2, d: 16, causal: true, sinks: true, quick: true }, // sinks with fully masked rows
  { sq: 6, sk: 70, hq: 2, hkv: 1, d: 32, sinks: true, window: { left: 10, right: 0 }, quick: true },
  { sq: 11, sk: 23, hq: 2, hkv: 1, d: 32, range: 8, quick: true }, // sharp softmax
  { sq: 0, sk: 0, seqQ: [3, 0, 7, 1], seqK: [5, 4, 0, 9], hq: 4, hkv: 2, d: 32, causal: true, quick: true }, // zero-length sequences
  { sq: 0, sk: 0, seqQ: [6, 2], seqK: [6, 11], padQ: 3, padK: 2, hq: 2, hkv: 1, d: 16, quick: true }, // padding past cu[B]
  { sq: 0, sk: 0, seqQ: [4, 9, 5], seqK: [8, 9, 13], hq: 4, hkv: 2, d: 64, layout: 'bhsd', window: { left: 3, right: 1 }, sinks: true, quick: true },
  { sq: 9, sk: 12, cuQ: [0, 5, 3], cuK: [0, 6, 12], hq: 2, hkv: 1, d: 16, quick: true }, // malformed: decreasing → NaN
  { sq: 9, sk: 12, cuQ: [0, 4, 9], cuK: [0, 6, 13], hq: 2, hkv: 1, d: 16, quick: true }, // malformed: past the end → NaN
  // Long rows and realistic shapes (full runs only).
  { sq: 64, sk: 8192, hq: 2, hkv: 1, d: 128, causal: true },
  { sq: 8192, sk: 8192, hq: 1, hkv: 1, d: 64, causal: true, window: { left: 4096 } },
  { b: 2, sq: 300, sk: 300, hq: 8, hkv: 2, d: 128, causal: true, sinks: true },
  { b: 1, sq: 257, sk: 513, hq: 4, hkv: 4, d: 256, softcap: 50 },
  { sq: 0, sk: 0, seqQ: [100, 1, 257, 0, 64], seqK: [100, 300, 257, 17, 64], hq: 8, hkv: 4, d: 96, causal: true },
];

/** Bench shapes: causal and not, GQA 4 and MHA at D = 128; D = 64 at S = 8192; D = 256. */
export function attnBench(make: (p: AttnProblem, dtype: FloatDType, seed: number) => Record<string, HostTensor>): BenchShape[] {
  const shapes: AttnProblem[] = [
    { b: 4, sq: 4096, sk: 4096, hq: 32, hkv: 8, d: 128 },
    { b: 4, sq: 4096, sk: 4096, hq: 32, hkv: 8, d: 128, causal: true },
    { b: 4, sq: 4096, sk: 4096, hq: 32, hkv: 32, d: 128 },
    { b: 4, sq: 4096, sk: 4096, hq: 32, hkv: 32, d: 128, causal: true },
    { b: 2, sq: 8192, sk: 8192, hq: 16, hkv: 16, d: 64, causal: true },
    { b: 2, sq: 2048, sk: 2048, hq: 16, hkv: 8, d: 256, causal: true },
    // A Llama-3.2-1B prefill's attention (one 2048-token sequence, D = 64).
    { b: 1, sq: 2048, sk: 2048, hq: 32, hkv: 8, d: 64, causal: true },
  ];
  return shapes.map((p) => ({ label: problemLabel(p), options: problemOptions(p), make: (d, s) => make(p, d, s) }));
}
