import { BYTES, type DType } from '../../../dtype.js';
import { NotSupportedError, OptionsError } from '../../../errors.js';
import type { DecodeDims } from '../../../ops/decode_attention/dims.js';
import { maxdOf } from './flash_attention.js';

/**
 * How decode_stream.wgsl spreads a step (PMETAL_DECODE_ATTENTION_VARIANT, read at each launch;
 * all variants are correct, `pmetal bench --variants --op decode_attention` times them side by
 * side). A step is memory-bound: what is open is how many bytes are in flight. The split count
 * sets how many workgroups stream the cache at once (an H100 has 132 SMs and ~5 of these
 * 128-invocation workgroups fit an SM's registers) against the partials each split writes and
 * decode_reduce.wgsl reads back (Dv floats a row per split); `u` is the keys a team loads
 * before using any (16-byte loads in flight a lane: u·(NW + NWV)) against registers.
 *   auto (default):     `group` where its grid has ≥ 256 workgroups, else `rows1`. Run S10 on
 *                       the H100 (f16, Hq 32, Hkv 8; `bench/results/2026-12-06-S10`): at 8192
 *                       keys group took 0.052 / 0.438 ms at B = 1 / 16 against rows1's 0.054 /
 *                       0.590; at the 1B model's 544-key step (D = 64) 0.0356 against 0.0393 at
 *                       B = 16 (640 workgroups), but 0.032 against 0.024 at B = 1, where its grid
 *                       is 40 workgroups (D = 128: 0.040 against 0.028).
 *   group:              the G query heads of a kv head (and T tokens) in one workgroup — each
 *                       K/V byte read once for them — with 1 key in flight a team, ~1056
 *                       workgroups, splits of at least 128 keys. Its per-row state stays in
 *                       registers since the kernel's loops are unrolled (#for; rolled, the same
 *                       plan at 4 keys in flight took 1.087 ms where unrolled took 0.543).
 *   rows1:              one problem row (query head) a workgroup, 1 key in flight a team, ~1056
 *                       workgroups, splits of at least 128 keys. Run S9 on the H100 (call C, the
 *                       model bench's 544-key step, D = 64): 0.024 ms at B = 1 and 0.040 at B = 16
 *                       where deep took 0.037 / 0.064 (its loops then rolled); each G-head group
 *                       reads its keys G times, from L2 after the first.
 *   deep:               ~1056 workgroups (8 an SM), splits of at least 128 keys, 4 keys in flight
 *                       a team (more loads a lane, fewer lanes). Run S8 on the H100 (`call-d`,
 *                       timed after launch tapes stopped replaying one variant under every name):
 *                       4–14% faster than balanced from B = 16 or 32k keys, within 2% at B = 1, 8k
 *   balanced:           as deep with 2 keys in flight a team (the default before run S8)
 *   wide:               ~2112 workgroups, splits of at least 64 keys (B = 1: more workgroups)
 *   short:              ~2112 workgroups, splits of at least 32 keys (short contexts: a 1B
 *                       model's 544-key step gets 17 splits a kv head instead of 5)
 *   latency:            one query head a workgroup, 4 keys in flight a team, and splits of ONE
 *                       workgroup step (64 keys at D = 64, 32 at D = 128) up to ~2112
 *                       workgroups: a short context at small B is a chain of dependent
 *                       16-key steps under rows1 (7 at the 1B bench's 544 keys), each a memory
 *                       latency; here every key of a split is loaded at once (the 1B step: 9
 *                       splits × 32 heads = 288 workgroups of one step). Not yet timed.
 *   single:             one split: a workgroup of up to 1024 invocations (128 teams at D = 64
 *                       f16) holds a whole row, 4 keys in flight a team (the 1B step's 544 keys
 *                       in about two steps), and finishes it itself — decode_stream.wgsl
 *                       DIRECT, one dispatch where the others take two (run S9's op bench, the
 *                       1B step under `deep`: 0.0364 ms, 0.0260 without the reduce dispatch).
 *                       Any plan that comes out with one split goes DIRECT too. Not yet timed.
 */
export const DECODE_VARIANTS: Record<string, { workgroups: number; minKeys: number; u: number; rb?: number; wg?: number; one?: boolean }> = {
  group: { workgroups: 1056, minKeys: 128, u: 1 },
  rows1: { workgroups: 1056, minKeys: 128, u: 1, rb: 1 },
  balanced: { workgroups: 1056, minKeys: 128, u: 2 },
  wide: { workgroups: 2112, minKeys: 64, u: 2 },
  deep: { workgroups: 1056, minKeys: 128, u: 4 },
  short: { workgroups: 2112, minKeys: 32, u: 2 },
  // minKeys 0: a split is one workgroup step (the plan's keys a step).
  latency: { workgroups: 2112, minKeys: 0, u: 4, rb: 1 },
  // One split (`one`): the stream kernel finishes its rows (DIRECT), no reduce dispatch.
  single: { workgroups: 0, minKeys: 0, u: 4, rb: 1, wg: 1024, one: true },
};
export type DecodeVariant = 'auto' | 'group' | 'rows1' | 'balanced' | 'wide' | 'deep' | 'short' | 'latency' | 'single';

/** `auto`'s threshold: the grouped plan where its grid has at least this many workgroups. */
const GROUP_MIN_WORKGROUPS = 256;

export function decodeVariant(): DecodeVariant {
  const v = typeof process !== 'undefined' ? process.env.PMETAL_DECODE_ATTENTION_VARIANT : undefined;
  if (v === undefined || v === '') return 'auto';
  if (v !== 'auto' && !(v in DECODE_VARIANTS)) throw new OptionsError(`[decode_attention] PMETAL_DECODE_ATTENTION_VARIANT: expected one of auto, ${Object.keys(DECODE_VARIANTS).join(', ')}, got '${v}'`);
  return v as DecodeVariant;
}

/** The defines of decode_stream.wgsl and the grid: see that file's header. */
export interface StreamPlan {
  /** Lanes a key (power of two), 16-byte words a lane of K and of V. */
  tl: number;
  nw: number;
  nwv: number;
  /** Problem rows a workgroup, row blocks, keys a team loads per step, invocations. */
  rb: number;
  blocks: number;
  u: number;
  wg: number;
  subgroups: boolean;
  splits: number;
  /** Keys a split (a multiple of the keys a workgroup step covers). */
  len: number;
}

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** Workgroup bytes of decode_stream.wgsl under a plan (mirrors its arrays). */
export function streamBytes(p: Pick<StreamPlan, 'tl' | 'nwv' | 'rb' | 'u' | 'wg' | 'subgroups'>, dtype: DType): number {
  const nt = p.wg / p.tl;
  const vpw = dtype === 'f32' ? 1 : 2;
  return 4 + 8 * nt * p.rb + 16 * p.wg * p.nwv * vpw + (p.subgroups ? 0 : 4 * p.u * p.rb * (p.wg + nt));
}

/**
 * The plan for a decode step. A team is at most 16 lanes (one 16-byte word each of a D = 128
 * f16 row) and, with subgroups, no wider than the adapter's smallest subgroup; rows a
 * workgroup are capped so q and acc stay ≤ 128 floats a lane (registers, not local memory).
 * `force` pins fields (tests: every team width on an adapter of narrow subgroups).
 */
export function streamPlan(dm: DecodeDims, dtype: DType, limits: { storage: number; invocations: number }, subgroupMin: number | undefined, variant: DecodeVariant, force: Partial<StreamPlan> = {}): StreamPlan {
  if (variant === 'auto') {
    const g = streamPlan(dm, dtype, limits, subgroupMin, 'group', force);
    return dm.batch * dm.hkv * g.blocks * g.splits >= GROUP_MIN_WORKGROUPS ? g : streamPlan(dm, dtype, limits, subgroupMin, 'rows1', force);
  }
  const epv = 16 / BYTES[dtype];
  // Words of each head dim's class (flash attention's MAXD classes), not of the exact dims:
  // fewer pipelines to compile (lanes past a row's words are masked at run time).
  const wk = maxdOf(dm.d, 0) / epv;
  const wv = maxdOf(dm.dv, 0) / epv;
  const subgroups = force.subgroups ?? subgroupMin !== undefined;
  const cap = subgroups ? Math.min(16, subgroupMin ?? 16) : 16;
  const tl = force.tl ?? Math.min(cap, pow2(Math.max(wk, wv)));
  const nw = Math.ceil(wk / tl);
  const nwv = Math.ceil(wv / tl);
  const rows = Math.max(1, dm.t * dm.group);
  const perRow = (nw + nwv) * epv;
  const v = DECODE_VARIANTS[variant];
  const rb = force.rb ?? v.rb ?? Math.min(8, pow2(rows), Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, 128 / perRow)))));
  const u = force.u ?? v.u;
  let wg = force.wg ?? Math.min(v.wg ?? 128, limits.invocations);
  while (wg > tl && streamBytes({ tl, nwv, rb, u, wg, subgroups }, dtype) > limits.storage) wg /= 2;
  if (streamBytes({ tl, nwv, rb, u, wg, subgroups }, dtype) > limits.storage) {
    throw new NotSupportedError(`[decode_attention] head dim ${Math.max(dm.d, dm.dv)} needs more workgroup memory than this adapter's ${limits.storage} bytes`);
  }
  const blocks = Math.ceil(rows / rb);
  const kps = (wg / tl) * u;
  const most = Math.max(1, Math.ceil(dm.capacity / (v.minKeys || kps)));
  const want = force.splits ?? (v.one ? 1 : undefined) ?? Math.min(most, Math.max(1, Math.ceil(v.workgroups / Math.max(1, dm.batch * dm.hkv * blocks))));
  const len = Math.max(kps, Math.ceil(Math.ceil(dm.capacity / want) / kps) * kps);
  return { tl, nw, nwv, rb, blocks, u, wg, subgroups, splits: Math.max(1, Math.ceil(dm.capacity / len)), len };
}
