import { BYTES } from '../../../dtype.js';
import { rowsCols } from '../../../ops/check.js';
import type { CeOptions } from '../../../ops/cross_entropy/reference.js';
import { dtCode } from '../pipelines.js';
import { defineParams, packParams } from '../../params.js';
import { grid, reductionTiers, rowChunks, windowOf, type LaunchContext, type Launcher, type WebGpuTier } from '../launch.js';

export const CROSS_ENTROPY_PARAMS = defineParams([
  ['rows', 'u32'],
  ['v', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['t_base', 'u32'],
  ['loss_base', 'u32'],
  ['lse_base', 'u32'],
  ['ignore_index', 'i32'],
  ['cap', 'f32'],
  ['inv_cap', 'f32'],
  ['c1', 'f32'],
  ['c2', 'f32'],
]);

export const CE_REDUCE_PARAMS = defineParams([
  ['rows', 'u32'],
  ['t_base', 'u32'],
  ['ignore_index', 'i32'],
]);

/** Both backward kernels' Params (wgsl/loss/ce_backward_params.wgsl). */
export const CROSS_ENTROPY_BACKWARD_PARAMS = defineParams([
  ['rows', 'u32'],
  ['v', 'u32'],
  ['nv', 'u32'],
  ['groups_x', 'u32'],
  ['chunks', 'u32'],
  ['x_base', 'u32'],
  ['t_base', 'u32'],
  ['lse_base', 'u32'],
  ['g_base', 'u32'],
  ['g_stride', 'u32'],
  ['dx_base', 'u32'],
  ['ignore_index', 'i32'],
  ['cap', 'f32'],
  ['inv_cap', 'f32'],
  ['c1', 'f32'],
  ['c2', 'f32'],
]);

/** Scalars both kernels share; packParams rounds them to f32 (the bounds count that rounding). */
const scalars = (o: CeOptions, v: number) => ({
  ignore_index: o.ignoreIndex,
  cap: o.softcap ?? 1,
  inv_cap: o.softcap ? 1 / o.softcap : 1,
  c1: 1 - o.labelSmoothing,
  c2: o.labelSmoothing / v,
});

/** ce_reduce.wgsl: one workgroup over the rows (Σ losses, or dloss/count), counting non-ignored targets. */
function reduceRows(ctx: LaunchContext, tier: WebGpuTier, src: GPUBuffer, targets: GPUBuffer, out: GPUBuffer, rows: number, o: CeOptions, scale: boolean): void {
  ctx.rt.dispatch({
    pipeline: { shader: 'loss/ce_reduce.wgsl', defines: { SCALE: scale, MEAN: o.reduction === 'mean', SUBGROUPS: tier === 'subgroups' }, overrides: { WG: 256 } },
    bindings: [
      { binding: 0, buffer: src },
      { binding: 1, buffer: targets },
      { binding: 2, buffer: out },
    ],
    params: { binding: 3, data: packParams(CE_REDUCE_PARAMS, { rows, t_base: 0, ignore_index: o.ignoreIndex }) },
    workgroups: [1],
  });
}

/**
 * Forward: one workgroup per row streams the vocabulary (rows chunked to the binding
 * limits); for mean/sum the per-row losses go to a [T] f32 scratch buffer that ce_reduce
 * folds into loss[0]. No [T, V] temporary exists.
 */
export const crossEntropyLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, o: CeOptions, outs) {
    const x = i.logits;
    const t = i.targets;
    const [rows, v] = rowsCols(x.shape);
    const loss = ctx.output(outs.loss);
    const lse = ctx.output(outs.lse);
    const none = o.reduction === 'none';
    const scratch = none ? undefined : ctx.rt.createBuffer(rows * 4);
    // One workgroup size for every V: real vocabularies are ≥ 32k, and each size is another
    // pipeline to compile (slow on lavapipe) for rows that are cheap anyway.
    const wg = 256;
    // Rows of a multiple of 16 bytes stream in 16-byte words (window bases are then whole words too).
    const vec = (v * BYTES[x.dtype]) % 16 === 0;
    const defines = { X_DT: dtCode(x.dtype), SOFTCAP: o.softcap !== undefined, SUBGROUPS: tier === 'subgroups', VEC: vec };
    for (const [r0, r1] of rowChunks(ctx, rows, v * BYTES[x.dtype])) {
      const n = r1 - r0;
      const xw = windowOf(ctx, x, 0, r0 * v, n * v);
      const tw = windowOf(ctx, t, 1, r0, n);
      const lw = scratch ? { b: { binding: 2, buffer: scratch }, base: r0 } : windowOf(ctx, loss, 2, r0, n);
      const sw = windowOf(ctx, lse, 3, r0, n);
      const g = grid(ctx, n);
      ctx.rt.dispatch({
        pipeline: { shader: 'loss/cross_entropy.wgsl', defines, overrides: { WG: wg } },
        bindings: [xw.b, tw.b, lw.b, sw.b],
        params: {
          binding: 4,
          data: packParams(CROSS_ENTROPY_PARAMS, { rows: n, v, groups_x: g.groupsX, x_base: xw.base, t_base: tw.base, loss_base: lw.base, lse_base: sw.base, ...scalars(o, v) }),
        },
        workgroups: g.workgroups,
      });
    }
    if (scratch) {
      reduceRows(ctx, tier, scratch, ctx.buffer(t), ctx.buffer(loss), rows, o, false);
      // Later work in this batch that reuses the buffer is ordered after the reads above.
      ctx.rt.releaseBuffer(scratch);
    }
    return { loss, lse };
  },
};

/**
 * Backward: elementwise over [T, V] in workgroup chunks of WG·ITEMS words of one row. For
 * 'mean' the count of non-ignored targets is recomputed by ce_reduce (SCALE) into a 4-byte
 * scratch holding dloss[0]/count — the forward's count is not an input, so the backward
 * needs nothing beyond (logits, targets, lse, dloss).
 */
export const crossEntropyBackwardLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, o: CeOptions, outs) {
    const x = i.logits;
    const t = i.targets;
    const [rows, v] = rowsCols(x.shape);
    const dx = ctx.output(outs.dlogits);
    const scale = o.reduction === 'mean' ? ctx.rt.createBuffer(4) : undefined;
    if (scale) reduceRows(ctx, tier, ctx.buffer(i.dloss), ctx.buffer(t), scale, rows, o, true);
    const wg = 256;
    const items = 4;
    // Rows of a whole number of 16-byte words take the vec kernel (every row starts on a word).
    const epv = (v * BYTES[x.dtype]) % 16 === 0 ? 16 / BYTES[x.dtype] : 0;
    // A row spans at most ⌊V/2⌋ + 1 words (when it starts on an odd element), V/epv vec words.
    const chunks = Math.ceil((epv ? v / epv : Math.floor(v / 2) + 1) / (wg * items));
    for (const [r0, r1] of rowChunks(ctx, rows, v * BYTES[x.dtype])) {
      const n = r1 - r0;
      const xw = windowOf(ctx, x, 0, r0 * v, n * v);
      const tw = windowOf(ctx, t, 1, r0, n);
      const lw = windowOf(ctx, i.lse, 2, r0, n);
      const gw =
        o.reduction === 'none'
          ? windowOf(ctx, i.dloss, 3, r0, n)
          : { b: { binding: 3, buffer: scale ?? ctx.buffer(i.dloss) }, base: 0 };
      const dw = windowOf(ctx, dx, 4, r0 * v, n * v);
      const g = grid(ctx, n * chunks);
      const common = { rows: n, v, groups_x: g.groupsX, chunks, t_base: tw.base, lse_base: lw.base, g_base: gw.base, g_stride: o.reduction === 'none' ? 1 : 0, ...scalars(o, v) };
      if (epv) {
        ctx.rt.dispatch({
          pipeline: { shader: 'loss/cross_entropy_backward_vec.wgsl', defines: { X_DT: dtCode(x.dtype), SOFTCAP: o.softcap !== undefined }, overrides: { WG: wg, ITEMS: items } },
          bindings: [xw.b, tw.b, lw.b, gw.b, dw.b],
          params: { binding: 5, data: packParams(CROSS_ENTROPY_BACKWARD_PARAMS, { ...common, nv: v / epv, x_base: xw.base / epv, dx_base: dw.base / epv }) },
          workgroups: g.workgroups,
        });
        continue;
      }
      ctx.rt.dispatch({
        // Rows of even length share no words between workgroups: plain 16-bit stores.
        pipeline: { shader: 'loss/cross_entropy_backward.wgsl', defines: { X_DT: dtCode(x.dtype), SOFTCAP: o.softcap !== undefined, ATOMIC_OUT: v % 2 === 1 }, overrides: { WG: wg, ITEMS: items } },
        bindings: [xw.b, tw.b, lw.b, gw.b, dw.b],
        params: { binding: 5, data: packParams(CROSS_ENTROPY_BACKWARD_PARAMS, { ...common, nv: 0, x_base: xw.base, dx_base: dw.base }) },
        workgroups: g.workgroups,
      });
    }
    if (scale) ctx.rt.releaseBuffer(scale);
    return { dlogits: dx };
  },
};
