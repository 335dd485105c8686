import { rowsCols } from '../../../ops/check.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix, rowThreads } from './common.js';

/** RmsNormParams in msl/norm/rms_norm.metal. */
export const RMS_NORM_PARAMS = defineParams([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['eps', 'f32'],
]);

/** One threadgroup a row (msl/norm/rms_norm.metal); the residual add is a function constant. */
export const rmsNormLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, o, outs) {
    const x = i.x;
    const [rows, n] = rowsCols(x.shape);
    const y = ctx.output(outs.y);
    const rstd = ctx.output(outs.rstd);
    const h = i.residual && outs.residual ? ctx.output(outs.residual) : undefined;
    ctx.dispatch({
      library: 'norm/rms_norm.metal',
      fn: `rms_norm_${dtSuffix(x.dtype)}`,
      constants: [{ index: 0, type: 'bool', value: !!h }],
      buffers: [
        { index: 0, tensor: x },
        { index: 1, tensor: i.weight },
        { index: 2, tensor: y },
        { index: 3, tensor: rstd },
        ...(h ? [{ index: 4, tensor: i.residual }, { index: 5, tensor: h }] : []),
      ],
      bytes: [{ index: 6, data: packParams(RMS_NORM_PARAMS, { rows, n, eps: o.eps }) }],
      grid: [rows, 1, 1],
      threadgroup: [rowThreads(n), 1, 1],
    });
    return { y, rstd, ...(h ? { residual: h } : {}) };
  },
};
