import { BYTES } from '../../../dtype.js';
import { NotSupportedError } from '../../../errors.js';
import { attnDims, kernelGeometry, type AttnDims } from '../../../ops/flash_attention_forward/dims.js';
import { kernelMask, kernelScore, type AttentionOptions } from '../../../ops/flash_attention_forward/options.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { grid, reductionTiers, rowChunks, windowOf, type AdapterTraits, type LaunchContext, type Launcher } from '../launch.js';
import { dtCode, type PipelineSpec } from '../pipelines.js';
import type { Binding } from '../runtime.js';

/** Params of wgsl/attention/fa_params.wgsl. */
export const FA_PARAMS = defineParams([
  ['rows', 'u32'],
  ['blocks', 'u32'],
  ['groups', 'u32'],
  ['groups_x', 'u32'],
  ['batches', 'u32'],
  ['sq', 'u32'],
  ['sk', 'u32'],
  ['hq', 'u32'],
  ['hkv', 'u32'],
  ['group', 'u32'],
  ['d', 'u32'],
  ['dv', 'u32'],
  ['bk', 'u32'],
  ['varlen', 'u32'],
  ['has_sinks', 'u32'],
  ['has_cap', 'u32'],
  ['q_base', 'u32'],
  ['q_sb', 'u32'],
  ['q_ss', 'u32'],
  ['q_sh', 'u32'],
  ['k_base', 'u32'],
  ['k_sb', 'u32'],
  ['k_ss', 'u32'],
  ['k_sh', 'u32'],
  ['v_base', 'u32'],
  ['v_sb', 'u32'],
  ['v_ss', 'u32'],
  ['v_sh', 'u32'],
  ['o_base', 'u32'],
  ['o_sb', 'u32'],
  ['o_ss', 'u32'],
  ['o_sh', 'u32'],
  ['lse_base', 'u32'],
  ['sink_base', 'u32'],
  ['has_offset', 'u32'],
  ['offset', 'i32'],
  ['left', 'i32'],
  ['right', 'i32'],
  ['scale', 'f32'],
  ['cap', 'f32'],
  ['inv_cap', 'f32'],
  ['do_base', 'u32'],
  ['ld_base', 'u32'],
  ['out_base', 'u32'],
  ['bq', 'u32'],
]);

/** Head-dim classes of the SIMT kernel: D and Dv ≤ MAXD (one pipeline per class, dtype and tier). */
export const MAXD_CLASSES = [64, 128, 256] as const;
export const maxdOf = (d: number, dv: number): number => MAXD_CLASSES.find((c) => c >= Math.max(d, dv))!;

/** The SIMT kernel's tiles: rows per workgroup, keys per tile, K/V sharing one buffer. */
export interface SimtPlan {
  maxd: number;
  bq: number;
  bk: number;
  kvShared: boolean;
}

/** Workgroup bytes of fa_forward.wgsl for a plan (mirrors its arrays: f32 tiles, the score tile without subgroups, the cu flags). */
export function simtBytes(p: SimtPlan, subgroups: boolean): number {
  return 4 * (p.bq * p.maxd + (p.kvShared ? 1 : 2) * p.bk * p.maxd + (subgroups ? 0 : p.bq * p.bk)) + 8;
}

/**
 * Tiles from the adapter's limits: the largest (rows, keys) whose workgroup memory fits
 * maxComputeWorkgroupStorageSize (16 KiB by default) with 8 invocations a row, K and V
 * sharing a buffer when nothing else fits.
 */
export function simtPlan(d: number, dv: number, storage: number, maxInvocations: number, subgroups: boolean): SimtPlan {
  const maxd = maxdOf(d, dv);
  const tiles: [number, number][] = [[32, 32], [32, 16], [16, 16], [16, 8], [8, 8], [4, 8], [2, 8], [1, 8]];
  for (const kvShared of [false, true]) {
    for (const [bq, bk] of tiles) {
      if (bq * 8 > Math.min(256, maxInvocations)) continue;
      const p = { maxd, bq, bk, kvShared };
      if (simtBytes(p, subgroups) <= storage) return p;
    }
  }
  throw new NotSupportedError(`[flash_attention_forward] head dims D=${d}, Dv=${dv} need more workgroup memory than this adapter's ${storage} bytes`);
}

/** The SIMT pipeline for a tier (exported so the tests can preprocess every variant). */
export function faSimtPipeline(subgroups: boolean, dtype: string, plan: SimtPlan): PipelineSpec {
  return {
    shader: 'attention/fa_forward.wgsl',
    defines: { Q_DT: dtCode(dtype), MAXD: plan.maxd, BQ: plan.bq, BK: plan.bk, SUBGROUPS: subgroups, KV_SHARED: plan.kvShared },
  };
}

/** Rows per workgroup of fa_forward_sgmat.wgsl: 4 subgroups of 16 query positions. */
export const SGMAT_ROWS = 64;
/** The subgroup-matrix pipeline: one per head-dim class (MAXD bounds D and Dv). */
export const faSgmatPipeline = (d: number, dv: number): PipelineSpec => ({ shader: 'attention/fa_forward_sgmat.wgsl', defines: { MAXD: maxdOf(d, dv) } });

/**
 * Whether the adapter can run fa_forward_sgmat.wgsl: an f16→f32 16×16×16 subgroup-matrix
 * configuration and subgroups of exactly 32 (two lanes own a row of a 16-row fragment).
 */
export function sgmatAdapterFits(adapter: AdapterTraits): boolean {
  if (adapter.subgroupMinSize !== 32 || adapter.subgroupMaxSize !== 32) return false;
  type Cfg = { componentType?: string; resultComponentType?: string; M?: number | bigint; N?: number | bigint; K?: number | bigint };
  return (adapter.subgroupMatrixConfigs as Cfg[]).some((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && Number(c.M) === 16 && Number(c.N) === 16 && Number(c.K) === 16);
}

/** A call the subgroup-matrix kernel takes: head dims multiples of 16 (whole fragments); others run the subgroups kernel on that tier. */
export const sgmatShapeFits = (dm: AttnDims): boolean => dm.d % 16 === 0 && dm.dv % 16 === 0;

/** The subgroup kernel needs subgroups of at least 8 (a row's lanes); else the portable one runs. */
function subgroupsFit(ctx: LaunchContext): boolean {
  const info = ctx.rt.opened.adapter.info as unknown as { subgroupMinSize?: number };
  return (info.subgroupMinSize ?? 0) >= 8;
}

interface Chunk {
  b0: number;
  b1: number;
}

/** A kernel's pipeline and grid: problem rows per (batch, head group), rows per workgroup, head groups. */
interface Kernel {
  pipeline: PipelineSpec;
  rows: number;
  bq: number;
  heads: number;
  bk: number;
}

/**
 * flash_attention_forward on WebGPU. Padded batches are dispatched in chunks of whole batches
 * so every binding window fits maxStorageBufferBindingSize; a varlen batch is one dispatch
 * (its sequence boundaries are device data), so each packed tensor must fit one binding.
 */
/**
 * fa_forward_sgmat.wgsl is not offered by default: on the H100 (run S5, 2026-12-06, after the
 * workgroup-placement fix in its header) lse was right and o still wrong on every quick f16
 * case (o[0] of b=2,sq=1,sk=37,hq=4,hkv=1,d=64: 0.00037 for −0.0102), so the P·V half is
 * still broken in a way lavapipe cannot show. `PMETAL_EXPERIMENTAL_FA_SGMAT=1` offers it, for
 * the one conformance command that checks it on a GPU with subgroup matrices.
 */
export const FA_SGMAT = { enabled: typeof process !== 'undefined' && process.env.PMETAL_EXPERIMENTAL_FA_SGMAT === '1' };

export const flashAttentionForwardLauncher: Launcher = {
  // 'subgroup-matrix' (fa_forward_sgmat.wgsl) for f16 only: its Q·Kᵀ and P·V run on f16
  // fragments. bf16 and f32 have no such configuration that accumulates in f32 here, so
  // they run the SIMT kernels (f32 math) of 'subgroups' / 'portable'.
  tiers: (d, f, adapter) => [
    ...(FA_SGMAT.enabled && d === 'f16' && f.has('chromium-experimental-subgroup-matrix') && f.has('shader-f16') && f.has('subgroups') && adapter && sgmatAdapterFits(adapter) ? (['subgroup-matrix'] as const) : []),
    ...reductionTiers(f),
  ],
  launch(ctx, tier, i, o: AttentionOptions, outs) {
    const dm = attnDims('flash_attention_forward', o.layout, i.q, i.k, i.v, i.cuSeqlensQ, i.cuSeqlensK);
    const out = ctx.output(outs.o);
    const lse = ctx.output(outs.lse);
    let k: Kernel;
    if (tier === 'subgroup-matrix' && sgmatShapeFits(dm)) {
      // Rows are the positions of one query head; workgroups (row block, query head, batch).
      k = { pipeline: faSgmatPipeline(dm.d, dm.dv), rows: dm.sq, bq: SGMAT_ROWS, heads: dm.hq, bk: 16 };
    } else {
      // Rows are (position, head) pairs of the heads sharing a kv head; workgroups (row block, kv head, batch).
      const subgroups = tier !== 'portable' && subgroupsFit(ctx);
      const plan = simtPlan(dm.d, dm.dv, ctx.limits.maxComputeWorkgroupStorageSize, ctx.limits.maxComputeInvocationsPerWorkgroup, subgroups);
      k = { pipeline: faSimtPipeline(subgroups, i.q.dtype, plan), rows: dm.sq * dm.group, bq: plan.bq, heads: dm.hkv, bk: plan.bk };
    }
    for (const ch of chunks(ctx, dm, i.q)) dispatchChunk(ctx, k, dm, o, i, out, lse, ch);
    return { o: out, lse };
  },
};

function chunks(ctx: LaunchContext, dm: AttnDims, q: Tensor): Chunk[] {
  const e = BYTES[q.dtype];
  if (dm.varlen) {
    const whole = Math.max(dm.sq * dm.hq * Math.max(dm.d, dm.dv), dm.sk * dm.hkv * Math.max(dm.d, dm.dv)) * e;
    rowChunks(ctx, 1, Math.max(whole, dm.hq * dm.sq * 4));
    return [{ b0: 0, b1: 1 }];
  }
  const perBatch = Math.max(dm.q.b, dm.k.b, dm.v.b, dm.o.b) * e;
  return rowChunks(ctx, dm.batch, Math.max(perBatch, dm.hq * dm.sq * 4)).map(([b0, b1]) => ({ b0, b1 }));
}

function dispatchChunk(ctx: LaunchContext, k: Kernel, dm: AttnDims, o: AttentionOptions, i: Record<string, Tensor>, out: Tensor, lse: Tensor, ch: Chunk): void {
  const nb = ch.b1 - ch.b0;
  const rows = k.rows;
  const blocks = Math.ceil(rows / k.bq);
  // Elements per batch of each tensor (varlen: the whole packed tensor, one "batch").
  const span = (t: Tensor, stride: number) => (dm.varlen ? t.shape.reduce((a, b) => a * b, 1) : stride);
  const qw = windowOf(ctx, i.q, 0, ch.b0 * dm.q.b, nb * span(i.q, dm.q.b));
  const kw = windowOf(ctx, i.k, 1, ch.b0 * dm.k.b, nb * span(i.k, dm.k.b));
  const vw = windowOf(ctx, i.v, 2, ch.b0 * dm.v.b, nb * span(i.v, dm.v.b));
  const ow = windowOf(ctx, out, 3, ch.b0 * dm.o.b, nb * span(out, dm.o.b));
  const lseRow = dm.hq * dm.sq;
  const lw = windowOf(ctx, lse, 4, ch.b0 * lseRow, nb * lseRow);
  // sinks, cuq and cuk are always bound: q's window stands in for an absent one (read-only
  // aliasing is allowed; the kernel reads them only when has_sinks / varlen say so).
  const dummy = (binding: number): Binding => ({ ...qw.b, binding });
  const sw = i.sinks ? windowOf(ctx, i.sinks, 5, 0, dm.hq) : undefined;
  const bindings: Binding[] = [
    qw.b,
    kw.b,
    vw.b,
    ow.b,
    lw.b,
    sw?.b ?? dummy(5),
    dm.varlen ? windowOf(ctx, i.cuSeqlensQ, 6, 0, dm.batch + 1).b : dummy(6),
    dm.varlen ? windowOf(ctx, i.cuSeqlensK, 7, 0, dm.batch + 1).b : dummy(7),
  ];
  const groups = blocks * k.heads * (dm.varlen ? 1 : nb);
  const g = grid(ctx, groups);
  ctx.rt.dispatch({
    pipeline: k.pipeline,
    bindings,
    params: {
      binding: 8,
      data: packParams(FA_PARAMS, {
        rows,
        blocks,
        groups,
        groups_x: g.groupsX,
        batches: dm.varlen ? dm.batch : nb,
        ...kernelGeometry(dm),
        bk: k.bk,
        varlen: dm.varlen ? 1 : 0,
        has_sinks: i.sinks ? 1 : 0,
        has_cap: o.softcap === undefined ? 0 : 1,
        q_base: qw.base,
        k_base: kw.base,
        v_base: vw.base,
        o_base: ow.base,
        lse_base: lw.base,
        sink_base: sw?.base ?? 0,
        ...kernelMask(o),
        ...kernelScore(o, dm.d),
        // The backward's fields (fa_params.wgsl), unused here.
        do_base: 0,
        ld_base: 0,
        out_base: 0,
        bq: 0,
      }),
    },
    workgroups: g.workgroups,
  });
}
