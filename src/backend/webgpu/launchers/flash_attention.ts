import { BYTES } from '../../../dtype.js';
import { NotSupportedError } from '../../../errors.js';
import { attnDims, kernelGeometry, type AttnDims } from '../../../ops/flash_attention_forward/dims.js';
import { kernelMask, kernelScore, type AttentionOptions } from '../../../ops/flash_attention_forward/options.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { grid, reductionTiers, rowChunks, windowOf, type AdapterTraits, type LaunchContext, type Launcher } from '../launch.js';
import { dtCode, type PipelineSpec } from '../pipelines.js';
import type { Binding } from '../runtime.js';
import { faSgmatPipeline, sgmatAdapterFits, sgmatPlan, sgmatShapeFits } from './flash_attention_sgmat.js';

export { faSgmatPipeline, sgmatAdapterFits, sgmatPlan, sgmatShapeFits } from './flash_attention_sgmat.js';

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
 * fa_forward_sgmat.wgsl is offered wherever the adapter fits it (checked on the H100: quick
 * conformance 32/32 f16 cases with 8 and 4 subgroups and 16- and 32-key tiles, run S6).
 * `PMETAL_FA_SGMAT=0` leaves it out (the SIMT tiers then run every dtype).
 */
export const FA_SGMAT = { enabled: typeof process === 'undefined' || process.env.PMETAL_FA_SGMAT !== '0' };

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
    // Rows are (position, head) pairs of the heads sharing a kv head; workgroups (row block, kv head, batch).
    const subgroups = tier !== 'portable' && subgroupsFit(ctx);
    const plan = simtPlan(dm.d, dm.dv, ctx.limits.maxComputeWorkgroupStorageSize, ctx.limits.maxComputeInvocationsPerWorkgroup, subgroups);
    const simt: Kernel = { pipeline: faSimtPipeline(subgroups, i.q.dtype, plan), rows: dm.sq * dm.group, bq: plan.bq, heads: dm.hkv, bk: plan.bk };
    // Rows are the positions of one query head; workgroups (row block, query head, batch).
    const sp = tier === 'subgroup-matrix' && dm.d % 16 === 0 && dm.dv % 16 === 0 ? sgmatPlan(dm.d, dm.dv, ctx.limits.maxComputeWorkgroupStorageSize, ctx.limits.maxComputeInvocationsPerWorkgroup) : undefined;
    const sg: Kernel | undefined = sp && { pipeline: faSgmatPipeline(dm.d, dm.dv, sp), rows: dm.sq, bq: 16 * sp.nsg, heads: dm.hq, bk: sp.bk };
    for (const ch of chunks(ctx, dm, i.q)) dispatchChunk(ctx, sg, simt, dm, o, i, out, lse, ch);
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

function dispatchChunk(ctx: LaunchContext, sg: Kernel | undefined, simt: Kernel, dm: AttnDims, o: AttentionOptions, i: Record<string, Tensor>, out: Tensor, lse: Tensor, ch: Chunk): void {
  const nb = ch.b1 - ch.b0;
  // Elements per batch of each tensor (varlen: the whole packed tensor, one "batch").
  const span = (t: Tensor, stride: number) => (dm.varlen ? t.shape.reduce((a, b) => a * b, 1) : stride);
  const qw = windowOf(ctx, i.q, 0, ch.b0 * dm.q.b, nb * span(i.q, dm.q.b));
  const kw = windowOf(ctx, i.k, 1, ch.b0 * dm.k.b, nb * span(i.k, dm.k.b));
  const vw = windowOf(ctx, i.v, 2, ch.b0 * dm.v.b, nb * span(i.v, dm.v.b));
  const ow = windowOf(ctx, out, 3, ch.b0 * dm.o.b, nb * span(out, dm.o.b));
  // The subgroup-matrix kernel reads 16-byte rows: a window that starts mid-row takes the SIMT one.
  const k = sg && sgmatShapeFits(dm, [qw.base, kw.base, vw.base, ow.base]) ? sg : simt;
  const rows = k.rows;
  const blocks = Math.ceil(rows / k.bq);
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
