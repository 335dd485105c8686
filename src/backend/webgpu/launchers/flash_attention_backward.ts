import { BYTES } from '../../../dtype.js';
import { NotSupportedError } from '../../../errors.js';
import { attnDims, kernelGeometry, type AttnDims } from '../../../ops/flash_attention_forward/dims.js';
import { kernelMask, kernelScore, type AttentionOptions } from '../../../ops/flash_attention_forward/options.js';
import type { Tensor } from '../../../tensor.js';
import { packParams } from '../../params.js';
import { grid, rowChunks, windowOf, type LaunchContext, type Launcher } from '../launch.js';
import { dtCode, type PipelineSpec } from '../pipelines.js';
import type { Binding } from '../runtime.js';
import { FA_PARAMS, FA_SGMAT, maxdOf, sgmatAdapterFits, sgmatShapeFits } from './flash_attention.js';
import { bwdSgDkvBytes, bwdSgDkvPipeline, bwdSgDqBytes, bwdSgDqPipeline, bwdSgmatPlan, type BwdSgmatPlan } from './flash_attention_backward_sgmat.js';

/** Tiles of the backward kernels: dq rows × keys per tile; dk/dv keys per workgroup × rows per query block. */
export interface BwdPlan {
  maxd: number;
  bq: number;
  bk: number;
  bkv: number;
  bqr: number;
}

/** Workgroup bytes: fa_bwd_dq.wgsl (K, V tiles, the dX tile) and fa_bwd_dkv.wgsl (K, V tiles, the P/dX tile, row data). */
export const bwdDqBytes = (p: BwdPlan) => 4 * (2 * p.bk * p.maxd + p.bq * p.bk) + 8;
export const bwdDkvBytes = (p: BwdPlan) => 4 * (2 * p.bkv * p.maxd + p.bkv * p.bqr) + 24 * p.bqr + 8;

/** The largest tiles within maxComputeWorkgroupStorageSize (16 KiB by default), 8 invocations a row / key. */
export function bwdPlan(d: number, dv: number, storage: number, maxInvocations: number): BwdPlan {
  const maxd = maxdOf(d, dv);
  const inv = Math.min(256, maxInvocations);
  const dq = ([[32, 16], [16, 16], [16, 8], [8, 8], [8, 4], [4, 4], [2, 4], [1, 4]] as const).find(([bq, bk]) => bq * 8 <= inv && bwdDqBytes({ maxd, bq, bk, bkv: 0, bqr: 0 }) <= storage);
  const dkv = ([[32, 32], [16, 32], [16, 16], [8, 16], [4, 16], [2, 8], [1, 8]] as const).find(([bkv, bqr]) => bkv * 8 <= inv && bwdDkvBytes({ maxd, bq: 0, bk: 0, bkv, bqr }) <= storage);
  if (!dq || !dkv) throw new NotSupportedError(`[flash_attention_backward] head dims D=${d}, Dv=${dv} need more workgroup memory than this adapter's ${storage} bytes`);
  return { maxd, bq: dq[0], bk: dq[1], bkv: dkv[0], bqr: dkv[1] };
}

/**
 * flash_attention_backward on WebGPU ('portable': the kernels use no subgroup operations, so no
 * second tier is advertised). Per batch chunk (whole batches within maxStorageBufferBindingSize;
 * a varlen batch is one chunk): fa_bwd_prep ((lse, D = dO·o) per row into a scratch), fa_bwd_dq,
 * fa_bwd_dkv twice (dk, dv) and, with sinks, fa_bwd_dsink (chunks add to the previous sum in
 * order). Deterministic: no atomics, fixed summation orders.
 */
export const flashAttentionBackwardLauncher: Launcher = {
  // 'subgroup-matrix' for f16 where the forward's is offered: dq, dk and dv on 16×16×16
  // fragments (fa_bwd_dq_sgmat.wgsl, fa_bwd_dkv_sgmat.wgsl); the (lse, D) and dsinks passes
  // are the portable ones. Calls it cannot take (head dims not multiples of 16, rows not
  // 16-byte aligned, too little workgroup memory) run the portable kernels on that tier.
  tiers: (d, f, adapter) => [
    ...(FA_SGMAT.enabled && d === 'f16' && f.has('chromium-experimental-subgroup-matrix') && f.has('shader-f16') && f.has('subgroups') && adapter && sgmatAdapterFits(adapter) ? (['subgroup-matrix'] as const) : []),
    'portable',
  ],
  launch(ctx, tier, i, o: AttentionOptions, outs) {
    const dm = attnDims('flash_attention_backward', o.layout, i.q, i.k, i.v, i.cuSeqlensQ, i.cuSeqlensK);
    const dq = ctx.output(outs.dq);
    const dk = ctx.output(outs.dk);
    const dv = ctx.output(outs.dv);
    const dsinks = outs.dsinks ? ctx.output(outs.dsinks) : undefined;
    const plan = bwdPlan(dm.d, dm.dv, ctx.limits.maxComputeWorkgroupStorageSize, ctx.limits.maxComputeInvocationsPerWorkgroup);
    const lseLen = dm.lseShape.reduce((a, b) => a * b, 1);
    const ld = ctx.output({ dtype: 'f32', shape: [lseLen, 2] });
    const e = BYTES[i.q.dtype];
    const perBatch = dm.varlen ? 0 : Math.max(dm.q.b, dm.k.b, dm.v.b, dm.o.b) * e;
    const whole = Math.max(dm.sq * dm.hq * Math.max(dm.d, dm.dv), dm.sk * dm.hkv * Math.max(dm.d, dm.dv)) * e;
    const chunks = dm.varlen ? (rowChunks(ctx, 1, Math.max(whole, lseLen * 8)), [[0, 1]]) : rowChunks(ctx, dm.batch, Math.max(perBatch, dm.hq * dm.sq * 8));
    const sg = tier === 'subgroup-matrix' && dm.d % 16 === 0 && dm.dv % 16 === 0 ? sgPlans(ctx, dm) : undefined;
    chunks.forEach(([b0, b1], n) => dispatchChunk(ctx, plan, sg, dm, o, i, { dq, dk, dv, dsinks, ld }, b0, b1, n > 0));
    ld.dispose();
    return { dq, dk, dv, ...(dsinks ? { dsinks } : {}) };
  },
};

/** Both subgroup-matrix plans, or undefined when either kernel does not fit the adapter. */
function sgPlans(ctx: LaunchContext, dm: AttnDims): { dq: BwdSgmatPlan; dkv: BwdSgmatPlan } | undefined {
  const st = ctx.limits.maxComputeWorkgroupStorageSize;
  const inv = ctx.limits.maxComputeInvocationsPerWorkgroup;
  // 16-row units of each kernel's grid: query rows (position × head of the group) for dq, keys for dk/dv.
  const batches = dm.varlen ? 1 : dm.batch;
  const hd = Math.max(dm.d, dm.dv);
  const dq = bwdSgmatPlan((p) => bwdSgDqBytes(dm.d, dm.dv, p), st, inv, batches * dm.hkv * Math.ceil((dm.sq * dm.group) / 16), hd);
  const dkv = bwdSgmatPlan((p) => bwdSgDkvBytes(dm.d, dm.dv, p), st, inv, batches * dm.hkv * Math.ceil(dm.sk / 16), hd);
  return dq && dkv ? { dq, dkv } : undefined;
}

interface Outs {
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
  dsinks?: Tensor;
  ld: Tensor;
}

function dispatchChunk(ctx: LaunchContext, plan: BwdPlan, sgp: { dq: BwdSgmatPlan; dkv: BwdSgmatPlan } | undefined, dm: AttnDims, o: AttentionOptions, i: Record<string, Tensor>, out: Outs, b0: number, b1: number, accumulate: boolean): void {
  const nb = b1 - b0;
  const span = (t: Tensor, stride: number) => (dm.varlen ? t.shape.reduce((a, b) => a * b, 1) : nb * stride);
  const lseRow = dm.hq * dm.sq;
  const qw = windowOf(ctx, i.q, 0, b0 * dm.q.b, span(i.q, dm.q.b));
  const kw = windowOf(ctx, i.k, 1, b0 * dm.k.b, span(i.k, dm.k.b));
  const vw = windowOf(ctx, i.v, 2, b0 * dm.v.b, span(i.v, dm.v.b));
  const dow = windowOf(ctx, i.dO, 3, b0 * dm.o.b, span(i.dO, dm.o.b));
  const ldw = windowOf(ctx, out.ld, 4, 2 * b0 * lseRow, 2 * nb * lseRow);
  const cuq = dm.varlen ? windowOf(ctx, i.cuSeqlensQ, 6, 0, dm.batch + 1).b : { ...qw.b, binding: 6 };
  const cuk = dm.varlen ? windowOf(ctx, i.cuSeqlensK, 7, 0, dm.batch + 1).b : { ...qw.b, binding: 7 };
  const common = {
    batches: dm.varlen ? dm.batch : nb,
    ...kernelGeometry(dm),
    varlen: dm.varlen ? 1 : 0,
    has_sinks: i.sinks ? 1 : 0,
    has_cap: o.softcap === undefined ? 0 : 1,
    q_base: qw.base,
    k_base: kw.base,
    v_base: vw.base,
    // In the dq/dk/dv kernels o_base is dO's (dO has o's layout) and lse_base indexes the (lse, D) scratch.
    o_base: dow.base,
    lse_base: ldw.base / 2,
    sink_base: 0,
    ...kernelMask(o),
    ...kernelScore(o, dm.d),
    do_base: dow.base,
    ld_base: ldw.base / 2,
  };
  const dt = dtCode(i.q.dtype);
  // A dispatch of `groups` workgroups over the 2-D grid (the kernels fold wid.y back in).
  const dispatch = (shader: string | PipelineSpec, defines: Record<string, number | boolean>, bindings: Binding[], p: Partial<Record<(typeof FA_PARAMS)[number][0], number>>, groups: number) => {
    const g = grid(ctx, groups);
    const values = { rows: 0, blocks: 1, groups, groups_x: g.groupsX, bk: 0, out_base: 0, bq: 0, ...common, ...p } as Record<(typeof FA_PARAMS)[number][0], number>;
    const pipeline = typeof shader === 'string' ? { shader, defines } : shader;
    ctx.rt.dispatch({ pipeline, bindings, params: { binding: 8, data: packParams(FA_PARAMS, values) }, workgroups: g.workgroups });
  };

  // (lse, D) per row: o rides at binding 0 with its window's base as o_base.
  const lseRows = dm.varlen ? lseRow : nb * lseRow;
  const ow = windowOf(ctx, i.o, 0, b0 * dm.o.b, span(i.o, dm.o.b));
  const lsew = windowOf(ctx, i.lse, 4, b0 * lseRow, dm.varlen ? lseRow : nb * lseRow);
  const ldOut = windowOf(ctx, out.ld, 5, 2 * b0 * lseRow, 2 * nb * lseRow);
  dispatch('attention/fa_bwd_prep.wgsl', { Q_DT: dt }, [ow.b, dow.b, lsew.b, ldOut.b], { rows: lseRows, o_base: ow.base, lse_base: lsew.base, ld_base: ldOut.base / 2 }, Math.ceil(lseRows / 64));

  // dq: rows are (position, head) pairs of a kv head's query heads, as the forward.
  const rows = dm.sq * dm.group;
  const dqw = windowOf(ctx, out.dq, 5, b0 * dm.q.b, span(out.dq, dm.q.b));
  const dkw = windowOf(ctx, out.dk, 5, b0 * dm.k.b, span(out.dk, dm.k.b));
  const dvw = windowOf(ctx, out.dv, 5, b0 * dm.v.b, span(out.dv, dm.v.b));
  const groupsOf = (blocks: number, heads: number) => blocks * heads * (dm.varlen ? 1 : nb);
  // The subgroup-matrix kernels read and write 16-byte rows: a window that starts mid-row takes the portable ones.
  if (sgp && sgmatShapeFits(dm, [qw.base, kw.base, vw.base, dow.base, dqw.base, dkw.base, dvw.base])) {
    // dq: rows are positions of one query head, workgroups (row block, query head, batch).
    const qBlocks = Math.ceil(dm.sq / (16 * sgp.dq.nsg));
    dispatch(bwdSgDqPipeline(dm.d, dm.dv, sgp.dq), {}, [qw.b, kw.b, vw.b, dow.b, ldw.b, dqw.b, cuq, cuk], { rows: dm.sq, blocks: qBlocks, out_base: dqw.base }, groupsOf(qBlocks, dm.hq));
    const kBlocks = Math.ceil(dm.sk / (16 * sgp.dkv.nsg));
    dispatch(bwdSgDkvPipeline(dm.d, dm.dv, sgp.dkv, false), {}, [qw.b, kw.b, vw.b, dow.b, ldw.b, dkw.b, cuq, cuk], { rows, blocks: kBlocks, out_base: dkw.base }, groupsOf(kBlocks, dm.hkv));
    dispatch(bwdSgDkvPipeline(dm.d, dm.dv, sgp.dkv, true), {}, [qw.b, kw.b, dow.b, ldw.b, dvw.b, cuq, cuk], { rows, blocks: kBlocks, out_base: dvw.base }, groupsOf(kBlocks, dm.hkv));
  } else {
    const qBlocks = Math.ceil(rows / plan.bq);
    dispatch('attention/fa_bwd_dq.wgsl', { Q_DT: dt, MAXD: plan.maxd, BQ: plan.bq, BK: plan.bk }, [qw.b, kw.b, vw.b, dow.b, ldw.b, dqw.b, cuq, cuk], { rows, blocks: qBlocks, bk: plan.bk, out_base: dqw.base }, groupsOf(qBlocks, dm.hkv));
    const kBlocks = Math.ceil(dm.sk / plan.bkv);
    const dkvDefines = { Q_DT: dt, MAXD: plan.maxd, BKV: plan.bkv, BQ: plan.bqr };
    dispatch('attention/fa_bwd_dkv.wgsl', { ...dkvDefines, DV_PASS: false }, [qw.b, kw.b, vw.b, dow.b, ldw.b, dkw.b, cuq, cuk], { rows, blocks: kBlocks, out_base: dkw.base, bq: plan.bqr }, groupsOf(kBlocks, dm.hkv));
    dispatch('attention/fa_bwd_dkv.wgsl', { ...dkvDefines, DV_PASS: true }, [qw.b, kw.b, dow.b, ldw.b, dvw.b, cuq, cuk], { rows, blocks: kBlocks, out_base: dvw.base, bq: plan.bqr }, groupsOf(kBlocks, dm.hkv));
  }

  if (out.dsinks) {
    const sw = windowOf(ctx, i.sinks, 0, 0, dm.hq);
    const dsw = windowOf(ctx, out.dsinks, 5, 0, dm.hq);
    dispatch('attention/fa_bwd_dsink.wgsl', {}, [sw.b, ldw.b, dsw.b, cuq, cuk], { sink_base: sw.base, out_base: dsw.base, bq: accumulate ? 1 : 0 }, dm.hq);
  }
}
