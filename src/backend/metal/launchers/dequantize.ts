import { checkQuantWeight, type QuantOptions } from '../../../ops/quant/formats.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix } from './common.js';
import { quantBuffers, quantInfix, quantRowBytesOf } from './quant.js';

/** DeqParams in msl/quant/dequantize.metal. */
export const DEQUANTIZE_MSL_PARAMS = defineParams([
  ['n', 'u32'],
  ['k', 'u32'],
  ['row_bytes', 'u32'],
  ['group', 'u32'],
  ['gpr', 'u32'],
]);

/** dequantize_<format>_<scales>_<out>: 8 outputs per thread; elementwise, so metal3 only. */
export const dequantizeMetalLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, o: QuantOptions, outs) {
    const d = checkQuantWeight('dequantize', i, o);
    const y = ctx.output(outs.y);
    const threads = (d.n * d.k) / 8;
    const tg = 256;
    ctx.dispatch({
      library: 'quant/dequantize.metal',
      fn: `dequantize_${quantInfix(d)}_${dtSuffix(y.dtype)}`,
      buffers: [...quantBuffers(d, i), { index: 3, tensor: y }],
      bytes: [{ index: 4, data: packParams(DEQUANTIZE_MSL_PARAMS, { n: d.n, k: d.k, row_bytes: quantRowBytesOf(d), group: d.group, gpr: d.k / d.group }) }],
      grid: [Math.ceil(threads / tg), 1, 1],
      threadgroup: [tg, 1, 1],
    });
    return { y };
  },
};
