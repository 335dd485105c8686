import type { DType } from '../../../dtype.js';
import { TierUnavailableError } from '../../../errors.js';
import { gemmDims } from '../../../ops/gemm/dims.js';
import { defineParams, packParams } from '../../params.js';
import type { ChipInfo, MetalConstant, MetalLauncher, MetalTier } from '../launch.js';

/** The kernels' GemmParams (msl/gemm/params.h): same fields, same order. */
export const GEMM_PARAMS = defineParams([
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['a_bstride', 'u32'],
  ['b_bstride', 'u32'],
  ['alpha', 'f32'],
  ['beta', 'f32'],
]);

/** Function constant indices of msl/gemm/params.h. */
export const GEMM_CONSTANTS = { hasC: 0, hasBias: 1, useAlpha: 2 } as const;

/**
 * Metal 3 tiles (msl/gemm/gemm.metal): 2×2 SIMD-groups (128 threads) either way; 64×64
 * (4×4 accumulator fragments per SIMD-group: twice the reuse of each staged value) where both
 * M and N exceed 64, else 32×32 (skinny and small problems keep more threadgroups busy).
 */
export const METAL3_TILES = {
  small: { BM: 32, BN: 32, BK: 16, threads: 128 },
  large: { BM: 64, BN: 64, BK: 16, threads: 128 },
} as const;
/** Metal 4 tile (msl/gemm/gemm_mpp.metal): 64×32 on 4 SIMD-groups, K in slices of 32. */
export const METAL4_TILE = { BM: 64, BN: 32, BK: 32, threads: 128 } as const;

/**
 * The Metal 3 decode kernel (msl/gemm/gemv.metal): M ≤ MAX_M rows of a untransposed against b
 * stored [N, K] — a decode step's projections — streams b once, 8 columns of y a threadgroup
 * of 8 SIMD-groups (256 threads), where a 32×32 tile computes 32 rows of y to keep M.
 */
export const METAL3_GEMV = { MAX_M: 16, BN: 8, threads: 256 } as const;

export function metal3Tile(m: number, n: number): keyof typeof METAL3_TILES {
  return m > 64 && n > 64 ? 'large' : 'small';
}

const transName = (transA: boolean, transB: boolean) => `${transA ? 't' : 'n'}${transB ? 't' : 'n'}`;

/** The library and kernel a tier runs (exported so the tests can name every instantiation). */
export function gemmKernel(
  tier: MetalTier,
  aDtype: DType,
  yDtype: DType,
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
): { library: string; fn: string; BM: number; BN: number; threads: number } {
  const tr = transName(transA, transB);
  if (tier === 'metal4') {
    const t = METAL4_TILE;
    return { library: 'gemm/gemm_mpp.metal', fn: `gemm_mpp_${tr}_${aDtype}_${yDtype}_bm${t.BM}_bn${t.BN}_bk${t.BK}`, BM: t.BM, BN: t.BN, threads: t.threads };
  }
  if (!transA && transB && m <= METAL3_GEMV.MAX_M) {
    return { library: 'gemm/gemv.metal', fn: `gemv_${aDtype}_${yDtype}`, BM: METAL3_GEMV.MAX_M, BN: METAL3_GEMV.BN, threads: METAL3_GEMV.threads };
  }
  const t = METAL3_TILES[metal3Tile(m, n)];
  return { library: 'gemm/gemm.metal', fn: `gemm_${tr}_${aDtype}_${yDtype}_bm${t.BM}_bn${t.BN}_bk${t.BK}`, BM: t.BM, BN: t.BN, threads: t.threads };
}

/**
 * Tiers: 'metal4' (MPP matmul2d) where the chip has Metal 4 and neural accelerators, then
 * 'metal3' (simdgroup_matrix) everywhere. Which one a call takes is the router's rule
 * (routeGemm: K % 32 == 0 among others); a forced metal4 with a ragged K is refused here.
 */
export const gemmLauncher: MetalLauncher = {
  tiers: (_dtype: DType, chip: ChipInfo): MetalTier[] => (chip.metal4 && chip.hasNax ? ['metal4', 'metal3'] : ['metal3']),
  launch(ctx, tier, i, o, outs) {
    const a = i.a;
    const b = i.b;
    const d = gemmDims(a.shape, b.shape, o.transA, o.transB);
    const { m, n, k } = d;
    if (tier === 'metal4') {
      if (!(ctx.chip.metal4 && ctx.chip.hasNax)) {
        throw new TierUnavailableError(`[gemm] tier 'metal4' needs a chip with Metal 4 and neural accelerators; ${ctx.chip.name} has ${ctx.chip.metal4 ? 'no neural accelerators' : 'no Metal 4'}`);
      }
      if (k % METAL4_TILE.BK !== 0) {
        throw new TierUnavailableError(`[gemm] tier 'metal4' needs K % ${METAL4_TILE.BK} == 0 (the accelerator matmul is wrong on a partial K slice), got K=${k}; use tier 'metal3'`);
      }
    }
    const y = ctx.output(outs.y);
    if (d.batch * m * n === 0) return { y };
    const kern = gemmKernel(tier, a.dtype, y.dtype, o.transA, o.transB, m, n);
    const constants: MetalConstant[] = [
      { index: GEMM_CONSTANTS.hasC, type: 'bool', value: !!i.c },
      { index: GEMM_CONSTANTS.hasBias, type: 'bool', value: !!i.bias },
      { index: GEMM_CONSTANTS.useAlpha, type: 'bool', value: o.alpha !== 1 },
    ];
    const buffers = [
      { index: 0, tensor: a },
      { index: 1, tensor: b },
      { index: 4, tensor: y },
    ];
    if (i.c) buffers.push({ index: 2, tensor: i.c });
    if (i.bias) buffers.push({ index: 3, tensor: i.bias });
    ctx.dispatch({
      library: kern.library,
      fn: kern.fn,
      constants,
      buffers,
      bytes: [
        {
          index: 5,
          data: packParams(GEMM_PARAMS, { m, n, k, a_bstride: d.aStride, b_bstride: d.bStride, alpha: o.alpha, beta: o.beta }),
        },
      ],
      // Batches over z; a rank-2 operand has batch stride 0 (broadcast).
      grid: [Math.ceil(n / kern.BN), Math.ceil(m / kern.BM), d.batch],
      threadgroup: [kern.threads, 1, 1],
    });
    return { y };
  },
};
