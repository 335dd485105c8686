import { dwDims } from '../../../ops/dw_gemm_accum/spec.js';
import { viewAs } from '../../view.js';
import type { MetalLauncher } from '../launch.js';
import { gemmLauncher } from './gemm.js';
import { gemmOn } from './gemm_call.js';

/**
 * C = α·Aᵀ·B + β·C through the gemm kernels (A [mb, T, M] as the [mb·T, M] operand of a
 * transposed-A gemm, f32 output). metal4 (MPP, as PMetal's mpp_dw_gemm) where the chip has
 * NAX and mb·T is a multiple of 32; metal3 (simdgroup_matrix) otherwise.
 */
export const dwGemmAccumLauncher: MetalLauncher = {
  tiers: (d, chip) => gemmLauncher.tiers(d, chip),
  launch(ctx, tier, i, o, outs) {
    const { m, n, k } = dwDims(i.a, i.b);
    const c = gemmOn(ctx, tier, k, { a: viewAs(i.a, [k, m]), b: viewAs(i.b, [k, n]), c: i.c }, { transA: true, alpha: o.alpha, beta: o.beta, outDtype: 'f32' }, outs.c);
    return { c };
  },
};
