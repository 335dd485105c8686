import { rowsCols } from '../../../ops/check.js';
import { checkQuantWeight, type QuantOptions } from '../../../ops/quant/formats.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix } from './common.js';
import { quantBuffers, quantInfix, quantRowBytesOf } from './quant.js';

/** QgemmParams in msl/quant/quantized_gemm.metal. */
export const QGEMM_MSL_PARAMS = defineParams([
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['row_bytes', 'u32'],
  ['group', 'u32'],
  ['gpr', 'u32'],
]);

/**
 * qgemv_<fmt>_<scales>_<x>_<y> for M ≤ 16 (8 columns a threadgroup, W streamed once),
 * qgemm_tiled_… otherwise (64×64 tiles). metal3 only: no Metal 4 kernel yet.
 */
export const quantizedGemmMetalLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, o: QuantOptions, outs) {
    const [m, k] = rowsCols(i.x.shape);
    const d = checkQuantWeight('quantized_gemm', i, o, k);
    const y = ctx.output(outs.y);
    const decode = m <= 16;
    const kern = decode ? 'qgemv' : 'qgemm_tiled';
    ctx.dispatch({
      library: 'quant/quantized_gemm.metal',
      fn: `${kern}_${quantInfix(d)}_${dtSuffix(i.x.dtype)}_${dtSuffix(y.dtype)}`,
      buffers: [...quantBuffers(d, i), { index: 3, tensor: i.x }, { index: 4, tensor: y }],
      bytes: [{ index: 5, data: packParams(QGEMM_MSL_PARAMS, { m, n: d.n, k, row_bytes: quantRowBytesOf(d), group: d.group, gpr: k / d.group }) }],
      grid: decode ? [Math.ceil(d.n / 8), 1, 1] : [Math.ceil(d.n / 64), Math.ceil(m / 64), 1],
      threadgroup: [256, 1, 1],
    });
    return { y };
  },
};
