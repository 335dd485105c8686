import { rowsCols } from '../../../ops/check.js';
import { checkQuantWeight, type QuantOptions } from '../../../ops/quant/formats.js';
import { defineParams, packParams } from '../../params.js';
import { TierUnavailableError } from '../../../errors.js';
import type { MetalLauncher, MetalTier } from '../launch.js';
import { QGEMV_MAX_M } from '../router.js';
import { METAL4_TILE, gemmLauncher } from './gemm.js';
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

/** The Metal 4 prefill tile (msl/quant/qgemm_mpp.metal): the gemm's, K in whole slices of 32. */
export const QGEMM_METAL4_TILE = METAL4_TILE;

/**
 * The kernel a tier runs. metal3: qgemv_<fmt>_<scales>_<x>_<y> for M ≤ 16 (8 columns a
 * threadgroup, W streamed once), qgemm_tiled_… otherwise (64×64 tiles). metal4:
 * qgemm_mpp_… (W tiles dequantized into threadgroup memory, MPP matmul) at any M — the
 * router sends it only prefills (routeQuantizedGemm); forced, it runs decodes too.
 */
export function qgemmKernel(tier: MetalTier, m: number, n: number): { library: string; kern: string; grid: [number, number, number]; threads: number } {
  if (tier === 'metal4') {
    const t = QGEMM_METAL4_TILE;
    return { library: 'quant/qgemm_mpp.metal', kern: 'qgemm_mpp', grid: [Math.ceil(n / t.BN), Math.ceil(m / t.BM), 1], threads: t.threads };
  }
  if (m <= QGEMV_MAX_M) return { library: 'quant/quantized_gemm.metal', kern: 'qgemv', grid: [Math.ceil(n / 8), 1, 1], threads: 256 };
  return { library: 'quant/quantized_gemm.metal', kern: 'qgemm_tiled', grid: [Math.ceil(n / 64), Math.ceil(m / 64), 1], threads: 256 };
}

/** Tiers: metal4 where the chip has Metal 4 and neural accelerators (as gemm), then metal3. */
export const quantizedGemmMetalLauncher: MetalLauncher = {
  tiers: (d, chip) => gemmLauncher.tiers(d, chip),
  launch(ctx, tier, i, o: QuantOptions, outs) {
    const [m, k] = rowsCols(i.x.shape);
    const d = checkQuantWeight('quantized_gemm', i, o, k);
    if (tier === 'metal4') {
      if (!(ctx.chip.metal4 && ctx.chip.hasNax)) {
        throw new TierUnavailableError(`[quantized_gemm] tier 'metal4' needs a chip with Metal 4 and neural accelerators; ${ctx.chip.name} has ${ctx.chip.metal4 ? 'no neural accelerators' : 'no Metal 4'}`);
      }
      // Every format's K is a multiple of 32 (checkQuantWeight); kept as a guard because the
      // accelerator matmul is silently wrong on a partial K slice.
      if (k % QGEMM_METAL4_TILE.BK !== 0) {
        throw new TierUnavailableError(`[quantized_gemm] tier 'metal4' needs K % ${QGEMM_METAL4_TILE.BK} == 0, got K=${k}; use tier 'metal3'`);
      }
    }
    const y = ctx.output(outs.y);
    const kern = qgemmKernel(tier, m, d.n);
    ctx.dispatch({
      library: kern.library,
      fn: `${kern.kern}_${quantInfix(d)}_${dtSuffix(i.x.dtype)}_${dtSuffix(y.dtype)}`,
      buffers: [...quantBuffers(d, i), { index: 3, tensor: i.x }, { index: 4, tensor: y }],
      bytes: [{ index: 5, data: packParams(QGEMM_MSL_PARAMS, { m, n: d.n, k, row_bytes: quantRowBytesOf(d), group: d.group, gpr: k / d.group }) }],
      grid: kern.grid,
      threadgroup: [kern.threads, 1, 1],
    });
    return { y };
  },
};
