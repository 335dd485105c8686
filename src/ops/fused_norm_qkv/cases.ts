import type { FloatDType } from '../../dtype.js';
import { kvInputs, kvLabel, type KvProblem } from '../kv_cache_copy/cases.js';
import { randomInts, uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase } from '../types.js';

/**
 * A cache write (kCache, vCache, cachePositions, blockTable): kv_cache_copy's problem without
 * the parts the call fixes — Snew = T / B (B = positions' length), Hkv, D and Dv from the
 * projections. The caches start random, as kv_cache_copy's cases do.
 */
export type NormQkvCache = Omit<KvProblem, 'snew' | 'hkv' | 'd' | 'dv' | 'range' | 'quick'>;

/**
 * A fused_norm_qkv case: T tokens of K features, q/k/v widths (heads × D for q and k; v's
 * width free), the optional inputs, and rope options (only with positions).
 */
export interface NormQkvDef {
  t: number;
  k: number;
  hq: number;
  hkv: number;
  d: number;
  /** v's width; default hkv · d. */
  nv?: number;
  residual?: boolean;
  bias?: boolean;
  /** Positions below this bound (and the rope); absent: no rope. */
  maxPos?: number;
  rope?: Record<string, unknown>;
  cache?: NormQkvCache;
  quick?: boolean;
}

const llama3 = { base: 500000, scaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } };

/**
 * T = 1, 2, 16 (the webgpu GEMV's range) and 40 (the separate launches); GQA (Nq = 4·Nk) and
 * MQA; Qwen2's biases; with and without residual and positions; both rope styles, partial
 * rotary, llama3 scaling; K a whole number of 16-byte words one past the GEMV workgroup's 256
 * (2056 in f16/bf16: a lane with two words), and K odd (not a word: the separate launches on
 * webgpu). Quick ones stay small for lavapipe.
 */
export const NORM_QKV_DEFS: NormQkvDef[] = [
  { t: 1, k: 64, hq: 4, hkv: 1, d: 16, residual: true, maxPos: 2048, quick: true },
  { t: 2, k: 96, hq: 4, hkv: 2, d: 8, bias: true, maxPos: 64, quick: true },
  { t: 16, k: 136, hq: 8, hkv: 2, d: 8, residual: true, bias: true, maxPos: 131072, rope: llama3, quick: true },
  { t: 3, k: 33, hq: 2, hkv: 1, d: 6, nv: 5, residual: true, maxPos: 100, quick: true },
  { t: 5, k: 40, hq: 3, hkv: 3, d: 4, nv: 7, quick: true },
  { t: 1, k: 2056, hq: 4, hkv: 1, d: 32, residual: true, maxPos: 4096, rope: { style: 'gptj', rotaryDim: 16 }, quick: true },
  { t: 4, k: 256, hq: 6, hkv: 2, d: 12, nv: 30, bias: true, maxPos: 512, rope: { rotaryDim: 8 }, quick: true },
  { t: 1, k: 128, hq: 2, hkv: 2, d: 10, residual: true, maxPos: 64, rope: { rotaryDim: 6 }, quick: true },
  { t: 40, k: 64, hq: 4, hkv: 1, d: 16, residual: true, bias: true, maxPos: 8192, rope: llama3, quick: true },
  { t: 9, k: 80, hq: 2, hkv: 1, d: 16, residual: true, quick: true },
  { t: 1, k: 2048, hq: 32, hkv: 8, d: 64, residual: true, maxPos: 8192, rope: llama3 },
  { t: 16, k: 1024, hq: 8, hkv: 2, d: 128, bias: true, residual: true, maxPos: 32768, rope: { base: 1000000 } },
  { t: 33, k: 512, hq: 8, hkv: 2, d: 64, residual: true, maxPos: 4096 },
  // Prefill-sized with N_q = 512 and N_k = 256 (whole 256-wide tiles) and v ragged (200): the
  // subgroup-matrix tier's three products in one dispatch (PMETAL_QKV_GEMM=1, qkv_gemm.ts) —
  // two row tiles, the second ragged; the composed plan elsewhere.
  { t: 130, k: 264, hq: 8, hkv: 4, d: 64, nv: 200, residual: true, maxPos: 4096, rope: llama3, quick: true },
  // Cache writes: a decode step (contiguous; one sequence at its last slot), a batch of 4
  // decode steps into a paged f16 cache with biases, 2 sequences of 3 tokens (one invalid:
  // nothing written) into a bf16 cache without rope and Dv ≠ D, 2 of 20 (past the GEMV) with a
  // bad block-table entry, an f32 cache under f16/bf16 rows.
  { t: 1, k: 64, hq: 4, hkv: 2, d: 16, residual: true, maxPos: 64, cache: { positions: [7], smax: 8 }, quick: true },
  { t: 4, k: 96, hq: 4, hkv: 2, d: 8, bias: true, maxPos: 64, rope: { style: 'gptj' }, cache: { positions: [3, 14, 0, 7], paged: { blockSize: 4, numBlocks: 16, maxBlocks: 5 }, cache: 'f16' }, quick: true },
  { t: 6, k: 40, hq: 2, hkv: 1, d: 8, nv: 16, residual: true, cache: { positions: [-1, 2], smax: 5, cache: 'bf16' }, quick: true },
  { t: 40, k: 64, hq: 4, hkv: 1, d: 16, residual: true, maxPos: 8192, rope: llama3, cache: { positions: [0, 30], paged: { blockSize: 8, numBlocks: 12, maxBlocks: 8 }, badTable: 1 }, quick: true },
  { t: 2, k: 136, hq: 8, hkv: 2, d: 8, maxPos: 100, cache: { positions: [1], smax: 4, cache: 'f32' }, quick: true },
  { t: 1, k: 2048, hq: 32, hkv: 8, d: 64, residual: true, maxPos: 8192, rope: llama3, cache: { positions: [700], smax: 1024 } },
];

export const normQkvOptions = (d: NormQkvDef): Record<string, unknown> =>
  d.maxPos !== undefined ? { heads: { q: d.hq, kv: d.hkv }, ...(d.rope ? { rope: d.rope } : {}) } : {};

export function normQkvLabel(d: NormQkvDef): string {
  const flags = [d.residual ? 'residual' : '', d.bias ? 'bias' : '', d.maxPos !== undefined ? `positions<${d.maxPos}` : 'norope'];
  const r = Object.entries(d.rope ?? {}).map(([k, v]) => (k === 'scaling' ? `scaling=${(v as { type: string }).type}` : `${k}=${String(v)}`));
  const c = d.cache ? `cache(${kvLabel(cacheProblem(d))})` : '';
  return [`T=${d.t},K=${d.k},Hq=${d.hq},Hkv=${d.hkv},D=${d.d},Nv=${d.nv ?? d.hkv * d.d}`, ...flags, ...r, c].filter(Boolean).join(',');
}

/** kv_cache_copy's problem for a case's cache write. */
function cacheProblem(d: NormQkvDef): KvProblem {
  const c = d.cache!;
  return { ...c, snew: d.t / c.positions.length, hkv: d.hkv, d: d.d, dv: (d.nv ?? d.hkv * d.d) / d.hkv };
}

/**
 * x in ±2 (residual ±1), γ in [0.5, 1.5], weights in ±2/√K so each projection stays O(1)
 * (far from f16's range at any K), biases in ±1.
 */
export function normQkvInputs(d: NormQkvDef, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const nq = d.hq * d.d;
  const nk = d.hkv * d.d;
  const nv = d.nv ?? nk;
  const w = (rows: number, s: number) => uniform(dtype, [rows, d.k], s, -2 / Math.sqrt(d.k), 2 / Math.sqrt(d.k));
  const out: Record<string, HostTensor> = {
    x: uniform(dtype, [d.t, d.k], seed, -2, 2),
    gamma: uniform(dtype, [d.k], seed + 1, 0.5, 1.5),
    wq: w(nq, seed + 2),
    wk: w(nk, seed + 3),
    wv: w(nv, seed + 4),
  };
  if (d.residual) out.residual = uniform(dtype, [d.t, d.k], seed + 5);
  if (d.bias) {
    out.bq = uniform(dtype, [nq], seed + 6);
    out.bk = uniform(dtype, [nk], seed + 7);
    out.bv = uniform(dtype, [nv], seed + 8);
  }
  if (d.maxPos !== undefined) out.positions = randomInts('i32', [d.t], seed + 9, 0, d.maxPos);
  if (d.cache) {
    const c = kvInputs(cacheProblem(d), d.cache.cache ?? dtype, seed + 10);
    out.kCache = c.kCache;
    out.vCache = c.vCache;
    out.cachePositions = c.positions;
    if (c.blockTable) out.blockTable = c.blockTable;
  }
  return out;
}

export const NORM_QKV_CASES: OpCase[] = NORM_QKV_DEFS.map((d) => ({ label: normQkvLabel(d), options: normQkvOptions(d), quick: d.quick, make: (dt, s) => normQkvInputs(d, dt, s) }));

/**
 * A decode step's attention input (residual, positions, llama3 rope) at Llama-3.2-1B (K = 2048,
 * 32 q heads, 8 kv heads, D = 64) and Llama-3-8B (K = 4096, 32/8 heads, D = 128), T = 1 and 16:
 * the GEMV against PMETAL_NORM_QKV_VARIANT=composed (`bench --op fused_norm_qkv --variants`);
 * and at the 1B shape with the KV-cache write (B = T sequences of one token).
 */
const BENCH_DEFS: NormQkvDef[] = [
  ...[1, 16].flatMap((t) => [
    { t, k: 2048, hq: 32, hkv: 8, d: 64, residual: true, maxPos: 1024, rope: llama3 },
    { t, k: 4096, hq: 32, hkv: 8, d: 128, residual: true, maxPos: 1024, rope: llama3 },
  ]),
  // The model's decode step: the same call writing t sequences' k and v into a 1024-slot cache.
  ...[1, 16].map((t) => ({ t, k: 2048, hq: 32, hkv: 8, d: 64, residual: true, maxPos: 1024, rope: llama3, cache: { positions: Array(t).fill(700), smax: 1024 } })),
];

/**
 * A 2048-token prefill's attention input at the 1B and 8B shapes: on the subgroup-matrix tier
 * the three products in one dispatch (PMETAL_QKV_GEMM=1) against three gemms
 * (`bench --op fused_norm_qkv --shape prefill --variants`).
 */
const PREFILL_DEFS: NormQkvDef[] = [
  { t: 2048, k: 2048, hq: 32, hkv: 8, d: 64, residual: true, maxPos: 4096, rope: llama3 },
  { t: 2048, k: 4096, hq: 32, hkv: 8, d: 128, residual: true, maxPos: 4096, rope: llama3 },
];

export const NORM_QKV_BENCH: BenchShape[] = [...BENCH_DEFS, ...PREFILL_DEFS].map((d) => ({
  label: `${d.t > 16 ? 'prefill' : 'decode'} T=${d.t},K=${d.k},Nq=${d.hq * d.d},Nkv=${d.hkv * d.d}${d.cache ? ',cache' : ''}`,
  options: normQkvOptions(d),
  make: (dt, s) => normQkvInputs(d, dt, s),
}));
