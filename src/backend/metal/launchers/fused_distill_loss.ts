import { rowsCols } from '../../../ops/check.js';
import type { DistillOpts } from '../../../ops/fused_distill_loss/reference.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix, rowThreads } from './common.js';

/** DistillParams in msl/loss/distill.metal. */
export const DISTILL_PARAMS = defineParams([
  ['rows', 'u32'],
  ['v', 'u32'],
  ['inv_t', 'f32'],
  ['scale', 'f32'],
]);
/** DistillBackwardParams. */
export const DISTILL_BACKWARD_PARAMS = defineParams([
  ['rows', 'u32'],
  ['v', 'u32'],
  ['g_mode', 'u32'],
  ['total', 'u32'],
  ['inv_t', 'f32'],
  ['tau', 'f32'],
]);
/** DistillReduceParams. */
export const DISTILL_REDUCE_PARAMS = defineParams([
  ['rows', 'u32'],
  ['mean', 'u32'],
]);

const LIB = 'loss/distill.metal';

/** One threadgroup a row, then (mean/sum) one threadgroup over the row losses. */
export const fusedDistillLossLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, opts, outs) {
    const o = opts as DistillOpts;
    const [rows, v] = rowsCols(i.student.shape);
    const loss = ctx.output(outs.loss);
    const lseS = ctx.output(outs.studentLse);
    const lseT = ctx.output(outs.teacherLse);
    const rowLoss = o.reduction === 'none' ? loss : ctx.output({ dtype: 'f32', shape: [rows] });
    ctx.dispatch({
      library: LIB,
      fn: `distill_fwd_${o.loss}_${dtSuffix(i.student.dtype)}`,
      buffers: [
        { index: 0, tensor: i.student },
        { index: 1, tensor: i.teacher },
        { index: 2, tensor: rowLoss },
        { index: 3, tensor: lseS },
        { index: 4, tensor: lseT },
      ],
      bytes: [{ index: 5, data: packParams(DISTILL_PARAMS, { rows, v, inv_t: 1 / o.temperature, scale: o.temperature * o.temperature }) }],
      grid: [rows, 1, 1],
      threadgroup: [rowThreads(v), 1, 1],
    });
    if (rowLoss !== loss) {
      ctx.dispatch({
        library: LIB,
        fn: 'distill_reduce',
        buffers: [
          { index: 0, tensor: rowLoss },
          { index: 1, tensor: loss },
        ],
        bytes: [{ index: 2, data: packParams(DISTILL_REDUCE_PARAMS, { rows, mean: o.reduction === 'mean' ? 1 : 0 }) }],
        grid: [1, 1, 1],
        threadgroup: [256, 1, 1],
      });
      rowLoss.dispose();
    }
    return { loss, studentLse: lseS, teacherLse: lseT };
  },
};

export const fusedDistillLossBackwardLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, opts, outs) {
    const o = opts as DistillOpts;
    const [rows, v] = rowsCols(i.student.shape);
    const dz = ctx.output(outs.dstudent);
    ctx.dispatch({
      library: LIB,
      fn: `distill_bwd_${o.loss}_${dtSuffix(i.student.dtype)}`,
      buffers: [
        { index: 0, tensor: i.student },
        { index: 1, tensor: i.teacher },
        { index: 2, tensor: i.studentLse },
        { index: 3, tensor: i.teacherLse },
        { index: 4, tensor: i.dloss },
        { index: 5, tensor: dz },
      ],
      bytes: [
        {
          index: 6,
          data: packParams(DISTILL_BACKWARD_PARAMS, { rows, v, g_mode: o.reduction === 'none' ? 0 : o.reduction === 'sum' ? 1 : 2, total: rows, inv_t: 1 / o.temperature, tau: o.temperature }),
        },
      ],
      grid: [rows, 1, 1],
      threadgroup: [rowThreads(v), 1, 1],
    });
    return { dstudent: dz };
  },
};
