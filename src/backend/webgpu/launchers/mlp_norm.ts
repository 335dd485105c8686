import { launcherVariant } from '../tuning.js';
import type { Tensor } from '../../../tensor.js';
import { viewAs } from '../../view.js';
import { reductionTiers, type LaunchContext, type WebGpuTier } from '../launch.js';
import { rmsNormLauncher } from './rms_norm.js';

/**
 * PMETAL_MLP_NORM_VARIANT (read at each launch): where fused_mlp's norm prologue (normWeight)
 * runs inside the gate/up GEMV dispatch (gemm_gemv_norm.wgsl) rather than as one rms_norm
 * dispatch before it. Every variant is within the same bound; they differ in dispatches and
 * in arithmetic:
 *   small (default)  in the GEMV at T ≤ SMALL_T rows. Each of the I/2 workgroups forms all T·K
 *                    values of n itself (~20 f32/integer operations an element for f16: the
 *                    add, two products, the exact rounding), 5·T operations per weight
 *                    element it streams; on an H100 (~30 T ops/s, ~3 TB/s, ~10 operations a
 *                    weight byte) that hides under the weight stream at T ≤ 2 and would not
 *                    at T = 16 (~4× the stream's time), where the ~3 µs of a second dispatch
 *                    costs less;
 *   all              in the GEMV at every T of its route (T ≤ 16);
 *   split            never: one rms_norm dispatch, then the plan without a norm (3 dispatches
 *                    for the MLP at decode sizes, as before fused_mlp took the norm).
 */
export const MLP_NORM_VARIANTS = ['small', 'all', 'split'] as const;
export type MlpNormVariant = (typeof MLP_NORM_VARIANTS)[number];
export const SMALL_T = 2;

export function mlpNormVariant(v?: string): MlpNormVariant {
  return launcherVariant('fused_mlp', 'PMETAL_MLP_NORM_VARIANT', MLP_NORM_VARIANTS, v);
}

/** Whether T rows take the norm inside the GEMV under this variant. */
export const normInGemv = (variant: MlpNormVariant, t: number): boolean => variant === 'all' || (variant === 'small' && t <= SMALL_T);

/**
 * The norm as its own dispatch (rms_norm's launcher, whose residual input returns the sum):
 * n [T, K] in x's dtype, the sum (with a residual) and rstd [T].
 */
export function normFirst(ctx: LaunchContext, tier: WebGpuTier, x: Tensor, gamma: Tensor, residual: Tensor | undefined, eps: number): { n: Tensor; sum?: Tensor; rstd: Tensor } {
  const [t, k] = x.shape;
  const info = { dtype: x.dtype, shape: [t, k] };
  // rms_norm's tiers are portable and subgroups: its best here, unless the call forced portable.
  const rTier = tier === 'portable' ? 'portable' : reductionTiers(ctx.features)[0];
  const r = rmsNormLauncher.launch(ctx, rTier, { x, weight: gamma, ...(residual ? { residual: viewAs(residual, [t, k]) } : {}) }, { eps }, { y: info, rstd: { dtype: 'f32', shape: [t] }, ...(residual ? { residual: info } : {}) });
  return { n: r.y, sum: r.residual, rstd: r.rstd };
}
