import { rowsCols } from '../../../ops/check.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix, rowThreads } from './common.js';

/** SoftmaxParams in msl/softmax/softmax.metal. */
export const SOFTMAX_PARAMS = defineParams([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['sq', 'u32'],
  ['offset', 'i32'],
  ['scale', 'f32'],
]);

/** One threadgroup a row, three sweeps (msl/softmax/softmax.metal); the causal mask is a function constant. */
export const softmaxLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, o, outs) {
    const x = i.x;
    const [rows, n] = rowsCols(x.shape);
    const y = ctx.output(outs.y);
    const sq = o.causal ? x.shape[x.shape.length - 2] : 1;
    const offset = o.queryOffset ?? n - sq;
    ctx.dispatch({
      library: 'softmax/softmax.metal',
      fn: `softmax_${dtSuffix(x.dtype)}`,
      constants: [{ index: 0, type: 'bool', value: !!o.causal }],
      buffers: [
        { index: 0, tensor: x },
        { index: 1, tensor: y },
      ],
      bytes: [{ index: 2, data: packParams(SOFTMAX_PARAMS, { rows, n, sq, offset, scale: o.scale }) }],
      grid: [rows, 1, 1],
      threadgroup: [rowThreads(n), 1, 1],
    });
    return { y };
  },
};
