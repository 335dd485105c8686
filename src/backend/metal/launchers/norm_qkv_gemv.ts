import type { KvCopyDims } from '../../../ops/kv_cache_copy/dims.js';
import type { NormQkvOpts } from '../../../ops/fused_norm_qkv/options.js';
import { ropeOptions, rotaryDimOf } from '../../../ops/rope/options.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { NORM_QKV_CACHE_PARAMS, normQkvCacheValues, normQkvSegment } from '../../compose/norm_qkv_rows.js';
import type { MetalConstant, MetalContext, MetalTier } from '../launch.js';
import { dtSuffix, rowThreads } from './common.js';
import { metalDecodeFused } from './decode_fused.js';
import { gemmKernel } from './gemm.js';
import { gemmTierOn } from './gemm_call.js';
import { ROPE_TABLE_MAX, freqTable } from './rope.js';

/** msl/gemm/gemv_norm_qkv.metal's NormQkvParams, field for field. */
export const NORM_QKV_METAL_PARAMS = defineParams([
  ['t', 'u32'],
  ['k', 'u32'],
  ['norm_threads', 'u32'],
  ['eps', 'f32'],
  ['mscale', 'f32'],
  ['n_q', 'u32'],
  ['n_k', 'u32'],
  ['n_v', 'u32'],
  ['sg_q', 'u32'],
  ['sg_k', 'u32'],
  ['sg_v', 'u32'],
  ['rot_q', 'u32'],
  ['rot_k', 'u32'],
  ['hd_q', 'u32'],
  ['rd_q', 'u32'],
  ['pl_q', 'u32'],
  ['hd_k', 'u32'],
  ['rd_k', 'u32'],
  ['pl_k', 'u32'],
  ['half_rd', 'u32'],
  ['neox', 'u32'],
  ...NORM_QKV_CACHE_PARAMS,
]);

/** The kernel's shape: tokens it takes (its NQKV_MAX_T), rows a SIMD-group, SIMD-groups a threadgroup. */
export const NORM_QKV_GEMV = { MAX_T: 4, SLOTS: 4, SGS: 8 } as const;

/** The rope layout of a call with positions: head counts, head dim, rotary dim (the op's check resolved them). */
interface Rope {
  hq: number;
  hkv: number;
  d: number;
  rd: number;
}
function ropeOf(i: Record<string, Tensor | undefined>, o: NormQkvOpts): Rope | undefined {
  if (!i.positions || !o.heads) return undefined;
  const d = i.wq!.shape[0] / o.heads.q;
  return { hq: o.heads.q, hkv: o.heads.kv, d, rd: rotaryDimOf(o.rope ?? ropeOptions.parse({}), d) };
}

/**
 * Whether the one-dispatch kernel takes the call on `tier`: 1 ≤ T ≤ 4, and exactly where the
 * separate plan's three products would run on gemv.metal (gemmOn's tier for this K, then
 * gemm's kernel choice at M = T: metal3 everywhere, metal4 where K is off its 32-slices) —
 * elsewhere the metal4 MPP products stay. No empty weight (a zero-size output binding), and
 * the rope's frequency table within one setBytes (rope.ts's ROPE_TABLE_MAX pairs).
 */
export function normQkvGemvFits(tier: MetalTier, i: Record<string, Tensor | undefined>, o: NormQkvOpts): boolean {
  const [t, k] = i.x!.shape;
  if (t < 1 || t > NORM_QKV_GEMV.MAX_T || !metalDecodeFused('fused_norm_qkv')) return false;
  const ns = [i.wq!, i.wk!, i.wv!].map((w) => w.shape[0]);
  if (Math.min(...ns) === 0) return false;
  const dt = i.x!.dtype;
  if (ns.some((n) => gemmKernel(gemmTierOn(tier, k), dt, dt, false, true, t, n).library !== 'gemm/gemv.metal')) return false;
  const r = ropeOf(i, o);
  return !r || r.rd / 2 <= ROPE_TABLE_MAX;
}

/** One segment's SIMD-groups and plain-row map (the kernel's header): rotated groups hold 2 pairs, plain ones 4 rows. */
function segment(n: number, heads: number | undefined, r: Rope | undefined) {
  const s = normQkvSegment(n, NORM_QKV_GEMV.SLOTS, r && heads !== undefined ? { heads, d: r.d, rd: r.rd } : undefined);
  return { ...s, sg: s.groups };
}

/**
 * q, k, v (and residualOut; with `cache`, k and v into kCache / vCache) in one dispatch of
 * gemv_norm_qkv.metal (the caller checked normQkvGemvFits): one SIMD-group per 4 weight rows
 * (rope pairs kept together), 8 a threadgroup, each threadgroup normalising the T rows itself.
 */
export function normQkvGemv(ctx: MetalContext, i: Record<string, Tensor>, o: NormQkvOpts, cache: KvCopyDims | undefined): Record<string, Tensor> {
  const x = i.x;
  const [t, k] = x.shape;
  const dt = x.dtype;
  const [nq, nk, nv] = [i.wq, i.wk, i.wv].map((w) => w.shape[0]);
  const out: Record<string, Tensor> = {
    q: ctx.output({ dtype: dt, shape: [t, nq] }),
    k: ctx.output({ dtype: dt, shape: [t, nk] }),
    v: ctx.output({ dtype: dt, shape: [t, nv] }),
  };
  if (i.residual) out.residualOut = ctx.output({ dtype: dt, shape: [t, k] });
  const r = ropeOf(i, o);
  const sq = segment(nq, r?.hq, r);
  const sk = segment(nk, r?.hkv, r);
  const sv = segment(nv, undefined, undefined);
  const constants: MetalConstant[] = [!!i.residual, !!i.bq, !!i.bk, !!i.bv, !!r, !!cache, !!cache?.paged].map((value, index) => ({ index, type: 'bool', value }));
  const buffers = [
    { index: 0, tensor: x },
    { index: 1, tensor: i.gamma },
    { index: 2, tensor: i.wq },
    { index: 3, tensor: i.wk },
    { index: 4, tensor: i.wv },
    { index: 5, tensor: out.q },
    { index: 6, tensor: out.k },
    { index: 7, tensor: out.v },
  ];
  if (i.residual) buffers.push({ index: 9, tensor: i.residual }, { index: 10, tensor: out.residualOut });
  (['bq', 'bk', 'bv'] as const).forEach((b, j) => {
    if (i[b]) buffers.push({ index: 11 + j, tensor: i[b] });
  });
  const bytes: { index: number; data: ArrayBuffer }[] = [];
  let mscale = 1;
  if (r) {
    // rope.ts's table for these options (the same f32 values its dispatch binds).
    const table = freqTable(o.rope ?? ropeOptions.parse({}), r.rd);
    mscale = table.attention;
    buffers.push({ index: 14, tensor: i.positions });
    bytes.push({ index: 15, data: table.inv.slice(0, r.rd / 2).buffer as ArrayBuffer });
  }
  if (cache) {
    buffers.push({ index: 16, tensor: i.kCache }, { index: 17, tensor: i.vCache }, { index: 18, tensor: i.cachePositions });
    if (cache.paged) buffers.push({ index: 19, tensor: i.blockTable });
  }
  bytes.push({
    index: 8,
    data: packParams(NORM_QKV_METAL_PARAMS, {
      t,
      k,
      norm_threads: rowThreads(k),
      eps: o.eps,
      mscale,
      n_q: nq,
      n_k: nk,
      n_v: nv,
      sg_q: sq.sg,
      sg_k: sk.sg,
      sg_v: sv.sg,
      rot_q: sq.rot,
      rot_k: sk.rot,
      hd_q: sq.hd,
      rd_q: sq.rd,
      pl_q: sq.pl,
      hd_k: sk.hd,
      rd_k: sk.rd,
      pl_k: sk.pl,
      half_rd: r ? r.rd / 2 : 1,
      neox: r && o.rope?.style === 'gptj' ? 0 : 1,
      ...normQkvCacheValues(cache),
    }),
  });
  const { SGS } = NORM_QKV_GEMV;
  ctx.dispatch({
    library: 'gemm/gemv_norm_qkv.metal',
    fn: `gemv_norm_qkv_${dtSuffix(dt)}_${dtSuffix(cache ? i.kCache.dtype : dt)}`,
    constants,
    buffers,
    bytes,
    grid: [Math.ceil((sq.sg + sk.sg + sv.sg) / SGS), 1, 1],
    threadgroup: [SGS * 32, 1, 1],
  });
  return out;
}
