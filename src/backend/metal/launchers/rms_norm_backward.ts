import { rowsCols } from '../../../ops/check.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix, rowThreads } from './common.js';

/** RmsNormBackwardParams in msl/norm/rms_norm_backward.metal. */
export const RMS_NORM_BACKWARD_PARAMS = defineParams([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['eps', 'f32'],
]);
/** RmsNormDwParams in msl/norm/rms_norm_backward.metal. */
export const RMS_NORM_DW_PARAMS = defineParams([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['chunk_rows', 'u32'],
  ['chunks', 'u32'],
]);

/** Rows one thread sums for dw before the second level. */
const DW_CHUNK = 64;
const DW_THREADS = 256;
const LIB = 'norm/rms_norm_backward.metal';

/**
 * dx: one threadgroup a row. dw: column sums over rows in two deterministic levels —
 * partials of DW_CHUNK rows, then a sum of the partials in chunk order (skipped when one
 * chunk suffices). No float atomics: the result does not depend on scheduling.
 */
export const rmsNormBackwardLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, o, outs) {
    const x = i.x;
    const [rows, n] = rowsCols(x.shape);
    const dt = dtSuffix(x.dtype);
    const dx = ctx.output(outs.dx);
    const dw = ctx.output(outs.dw);
    const rs = ctx.output({ dtype: 'f32', shape: [rows] });
    ctx.dispatch({
      library: LIB,
      fn: `rms_norm_backward_${dt}`,
      constants: [{ index: 0, type: 'bool', value: !!i.rstd }],
      buffers: [
        { index: 0, tensor: i.dy },
        { index: 1, tensor: x },
        { index: 2, tensor: i.weight },
        { index: 3, tensor: dx },
        { index: 4, tensor: rs },
        ...(i.rstd ? [{ index: 5, tensor: i.rstd }] : []),
      ],
      bytes: [{ index: 6, data: packParams(RMS_NORM_BACKWARD_PARAMS, { rows, n, eps: o.eps }) }],
      grid: [rows, 1, 1],
      threadgroup: [rowThreads(n), 1, 1],
    });
    const chunks = Math.ceil(rows / DW_CHUNK);
    const threads = Math.min(DW_THREADS, Math.ceil(n / 32) * 32);
    const groups = Math.ceil(n / threads);
    const params = packParams(RMS_NORM_DW_PARAMS, { rows, n, chunk_rows: DW_CHUNK, chunks });
    const part = chunks > 1 ? ctx.output({ dtype: 'f32', shape: [chunks, n] }) : undefined;
    ctx.dispatch({
      library: LIB,
      fn: `rms_norm_dw_partial_${dt}`,
      buffers: [
        { index: 0, tensor: i.dy },
        { index: 1, tensor: x },
        { index: 2, tensor: rs },
        { index: 3, tensor: part ?? dw },
      ],
      bytes: [{ index: 4, data: params }],
      grid: [groups, chunks, 1],
      threadgroup: [threads, 1, 1],
    });
    if (part) {
      ctx.dispatch({
        library: LIB,
        fn: 'rms_norm_dw_final',
        buffers: [
          { index: 0, tensor: part },
          { index: 1, tensor: dw },
        ],
        bytes: [{ index: 2, data: params }],
        grid: [groups, 1, 1],
        threadgroup: [threads, 1, 1],
      });
      part.dispose();
    }
    rs.dispose();
    return { dx, dw };
  },
};
