import { dwDims } from '../../../ops/dw_gemm_accum/spec.js';
import { gemmOptions } from '../../../ops/gemm/spec.js';
import { viewAs } from '../../view.js';
import type { Launcher } from '../launch.js';
import { gemmLauncher } from './gemm.js';

/**
 * C = α·Aᵀ·B + β·C through the gemm launcher: A [mb, T, M] is the [mb·T, M] operand of a
 * transposed-A gemm (the micro-batch sum is part of the reduction), f32 output, C as the
 * gemm's c. The tiers are gemm's (subgroup-matrix for f16 where the adapter has it).
 */
export const dwGemmAccumLauncher: Launcher = {
  tiers: (d, f) => gemmLauncher.tiers(d, f),
  launch(ctx, tier, i, o, outs) {
    const { m, n, k } = dwDims(i.a, i.b);
    const opts = gemmOptions.parse({ transA: true, alpha: o.alpha, beta: o.beta, outDtype: 'f32' });
    const { y } = gemmLauncher.launch(ctx, tier, { a: viewAs(i.a, [k, m]), b: viewAs(i.b, [k, n]), ...(i.c ? { c: i.c } : {}) }, opts, { y: outs.c });
    return { c: y };
  },
};
