import type { DType } from '../../../dtype.js';
import { rowsCols } from '../../../ops/check.js';
import type { CeOptions } from '../../../ops/cross_entropy/reference.js';
import { defineParams, packParams } from '../../params.js';
import type { Tensor } from '../../../tensor.js';
import type { MetalContext, MetalLauncher, MetalTier } from '../launch.js';
import { dtSuffix } from './common.js';

/** msl/loss/cross_entropy.metal's `CeParams`, field for field (one layout for all its kernels). */
export const CE_PARAMS = defineParams([
  ['rows', 'u32'],
  ['v', 'u32'],
  ['chunk', 'u32'],
  ['g_stride', 'u32'],
  ['ignore_index', 'i32'],
  ['cap', 'f32'],
  ['inv_cap', 'f32'],
  ['c1', 'f32'],
  ['c2', 'f32'],
]);

const LIB = 'loss/cross_entropy.metal';
const roundUp32 = (n: number) => Math.ceil(n / 32) * 32;
/** Whole SIMD-groups, at most 1024 (the kernels keep one partial per SIMD-group in 32 slots). */
const maxThreads = (ctx: MetalContext) => Math.max(32, Math.min(1024, Math.floor(ctx.chip.maxThreadsPerThreadgroup / 32) * 32));

/** Scalars every kernel shares; packParams rounds them to f32 (the bounds count that rounding). */
function params(o: CeOptions, rows: number, v: number, chunk = 0, gStride = 0): ArrayBuffer {
  return packParams(CE_PARAMS, {
    rows,
    v,
    chunk,
    g_stride: gStride,
    ignore_index: o.ignoreIndex,
    cap: o.softcap ?? 1,
    inv_cap: o.softcap ? 1 / o.softcap : 1,
    c1: 1 - o.labelSmoothing,
    c2: o.labelSmoothing / v,
  });
}

/** One threadgroup over the rows: Σ src / its mean over the count, or dloss[0]/count. */
function reduceRows(ctx: MetalContext, fn: 'ce_reduce_sum' | 'ce_reduce_mean' | 'ce_grad_scale', src: Tensor, targets: Tensor, out: Tensor, rows: number, v: number, o: CeOptions): void {
  ctx.dispatch({
    library: LIB,
    fn,
    buffers: [
      { index: 0, tensor: src },
      { index: 1, tensor: targets },
      { index: 2, tensor: out },
    ],
    bytes: [{ index: 3, data: params(o, rows, v) }],
    grid: [1, 1, 1],
    threadgroup: [Math.min(maxThreads(ctx), Math.max(32, roundUp32(rows))), 1, 1],
  });
}

// Metal 3 only: a streamed row reduction and an elementwise backward have nothing for Metal
// 4's tensor ops to do, so no metal4 kernel exists for either op.
const metal3 = (_dtype: DType): MetalTier[] => ['metal3'];

/**
 * Forward (cross_entropy_fwd[_softcap]_<dt>): one threadgroup per row streams the vocabulary
 * once; for mean/sum the row losses go to a [T] f32 scratch that ce_reduce_{sum,mean} folds
 * into loss[0] in a fixed order with an exact count. No [T, V] temporary exists.
 */
export const crossEntropyMetalLauncher: MetalLauncher = {
  tiers: metal3,
  launch(ctx, _tier, i, o: CeOptions, outs) {
    const x: Tensor = i.logits;
    const t: Tensor = i.targets;
    const [rows, v] = rowsCols(x.shape);
    const loss = ctx.output(outs.loss);
    const lse = ctx.output(outs.lse);
    const none = o.reduction === 'none';
    // Scratch: a tensor nobody returns, disposed once recorded (the batch keeps its buffer until it has run).
    const rowLoss = none ? loss : ctx.output({ dtype: 'f32', shape: [rows] });
    // Up to 1024 threads, about 8 logits each: one simdgroup for tiny rows, 1024 for real vocabularies.
    const tg = Math.min(maxThreads(ctx), Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(v / 8))))));
    if (rows > 0) ctx.dispatch({
      library: LIB,
      fn: `cross_entropy_fwd_${o.softcap !== undefined ? 'softcap_' : ''}${dtSuffix(x.dtype)}`,
      buffers: [
        { index: 0, tensor: x },
        { index: 1, tensor: t },
        { index: 2, tensor: rowLoss },
        { index: 3, tensor: lse },
      ],
      bytes: [{ index: 4, data: params(o, rows, v) }],
      grid: [rows, 1, 1],
      threadgroup: [tg, 1, 1],
    });
    if (!none) {
      reduceRows(ctx, o.reduction === 'mean' ? 'ce_reduce_mean' : 'ce_reduce_sum', rowLoss, t, loss, rows, v, o);
      rowLoss.dispose();
    }
    return { loss, lse };
  },
};

/**
 * Backward (cross_entropy_bwd[_softcap]_<dt>): elementwise over [T, V], a threadgroup per
 * chunk of 4 elements per thread of one row (grid: chunks × rows, so few long rows still fill
 * the GPU). For 'mean' the count of non-ignored targets is recomputed (ce_grad_scale) into a
 * 4-byte scratch holding dloss[0]/count — the backward needs nothing beyond its inputs.
 */
export const crossEntropyBackwardMetalLauncher: MetalLauncher = {
  tiers: metal3,
  launch(ctx, _tier, i, o: CeOptions, outs) {
    const x: Tensor = i.logits;
    const t: Tensor = i.targets;
    const [rows, v] = rowsCols(x.shape);
    const dx = ctx.output(outs.dlogits);
    let g: Tensor = i.dloss;
    if (o.reduction === 'mean') {
      g = ctx.output({ dtype: 'f32', shape: [1] });
      reduceRows(ctx, 'ce_grad_scale', i.dloss, t, g, rows, v, o);
    }
    const tg = Math.min(256, Math.max(32, roundUp32(Math.ceil(v / 4))));
    const chunk = tg * 4;
    if (rows > 0 && v > 0) ctx.dispatch({
      library: LIB,
      fn: `cross_entropy_bwd_${o.softcap !== undefined ? 'softcap_' : ''}${dtSuffix(x.dtype)}`,
      buffers: [
        { index: 0, tensor: x },
        { index: 1, tensor: t },
        { index: 2, tensor: i.lse },
        { index: 3, tensor: g },
        { index: 4, tensor: dx },
      ],
      bytes: [{ index: 5, data: params(o, rows, v, chunk, o.reduction === 'none' ? 1 : 0) }],
      grid: [Math.ceil(v / chunk), rows, 1],
      threadgroup: [tg, 1, 1],
    });
    if (g !== i.dloss) g.dispose();
    return { dlogits: dx };
  },
};
