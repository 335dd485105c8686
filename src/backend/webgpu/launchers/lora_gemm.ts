import { BYTES } from '../../../dtype.js';
import { OptionsError } from '../../../errors.js';
import type { Tensor } from '../../../tensor.js';
import { packParams } from '../../params.js';
import { windowLimit, windowOf, type LaunchContext, type WebGpuTier } from '../launch.js';
import { tuning } from '../tuning.js';
import { GEMV_TILE, gemmParamValues, sgmatVecKernel, type GemmVariant } from './gemm.js';
import { GEMM_LORA_PARAMS } from './gemm_params.js';
import { splitKPlan } from './gemm_splitk.js';

/**
 * PMETAL_LORA_GEMM_VARIANT (read at each launch, so `pmetal bench --variants` can switch it;
 * both are within fused_lora_forward's one bound, loraForwardErrors):
 *   composed (default)  three gemm launches, the term t = s·xa'·Bᵀ written [T, N] and read back
 *                       as the base product's c;
 *   fused               the LoRA term as r more K columns of the base product, one
 *                       gemm_sgmat_vec dispatch (gemm_sgmat_lora.wgsl) where it applies.
 * `fused` becomes the default once the H100's quick conformance has passed it (lavapipe has no
 * subgroup matrices: here it is compiled, validated and its plan and bound tested only;
 * bench/device-s11-c.sh runs both).
 */
export const LORA_GEMM_VARIANTS = ['composed', 'fused'] as const;
export type LoraGemmVariant = (typeof LORA_GEMM_VARIANTS)[number];

export function loraGemmVariant(v = typeof process !== 'undefined' ? process.env.PMETAL_LORA_GEMM_VARIANT : undefined): LoraGemmVariant {
  if (v === undefined || v === '') return 'composed';
  if (!(LORA_GEMM_VARIANTS as readonly string[]).includes(v)) throw new OptionsError(`[fused_lora_forward] PMETAL_LORA_GEMM_VARIANT: expected one of ${LORA_GEMM_VARIANTS.join(', ')}, got '${v}'`);
  return v as LoraGemmVariant;
}

const VARIANT: GemmVariant = { yDtype: 'f16', transA: false, transB: true, hasC: false, hasBias: false };

/**
 * Whether y = x·Wᵀ (+ bias) + xs·Bᵀ can run as one LORA_K dispatch: the subgroup-matrix tier
 * with f16 operands that gemm_sgmat_vec takes (sgmatVecKernel), more rows than the decode
 * GEMV takes (T ≤ 16 stays on it), r a multiple of 8 and B on 16-byte words, every operand
 * within one binding, and a product the split-K model would not split (those shapes keep
 * gemm's split — one tile row of a long K gains more from it than from skipping [T, N]).
 */
export function loraGemmFits(ctx: LaunchContext, tier: WebGpuTier, x: Tensor, w: Tensor, loraB: Tensor): boolean {
  if (tier !== 'subgroup-matrix' || x.dtype !== 'f16' || loraGemmVariant() !== 'fused') return false;
  const [m, k] = x.shape;
  const [n, r] = loraB.shape;
  if (m <= GEMV_TILE.MAX_M || n === 0 || r % 8 !== 0) return false;
  const limit = windowLimit(ctx);
  if (Math.max(x.size, w.size, loraB.size, m * n, m * r) * BYTES.f16 > limit) return false;
  const bases = { x: windowOf(ctx, x, 0, 0, x.size).base, w: windowOf(ctx, w, 1, 0, w.size).base, b: windowOf(ctx, loraB, 10, 0, loraB.size).base };
  const kernel = sgmatVecKernel(ctx, 'f16', VARIANT, m, n, k, bases.x, bases.w);
  if (!kernel || bases.b % 8 !== 0) return false;
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (Math.ceil(n / kernel.bn) > maxGroups || Math.ceil(m / kernel.bm) > maxGroups) return false;
  return !(tuning().gemm.splitK && splitKPlan(m, n, k, kernel.bm, kernel.bn, limit));
}

/**
 * y = x·Wᵀ (+ bias) + xs·Bᵀ in one gemm_sgmat_vec dispatch with LORA_K: xs [T, r] f16 (the
 * caller's s·xa rounded to f16) and B [N, r] enter as r more K columns of the same f32
 * accumulators, so the LoRA term adds r/K to the matrix work and nothing to the memory
 * traffic but xs and B themselves. The caller checks loraGemmFits first; xs is a fresh
 * tensor (base 0).
 */
export function loraGemm(ctx: LaunchContext, x: Tensor, w: Tensor, xs: Tensor, loraB: Tensor, bias: Tensor | undefined): Tensor {
  const [m, k] = x.shape;
  const [n, r] = loraB.shape;
  const y = ctx.output({ dtype: 'f16', shape: [m, n] });
  const whole = (t: Tensor, binding: number) => windowOf(ctx, t, binding, 0, t.size);
  const ws = { a: whole(x, 0), b: whole(w, 1), y: whole(y, 4), a2: whole(xs, 9), b2: whole(loraB, 10), bias: bias ? windowOf(ctx, bias, 3, 0, n) : undefined };
  if (ws.a2.base % 8 !== 0) throw new Error('[fused_lora_forward] internal: xs does not start on a 16-byte word');
  const kernel = sgmatVecKernel(ctx, 'f16', { ...VARIANT, hasBias: !!bias }, m, n, k, ws.a.base, ws.b.base)!;
  const bindings = [ws.a.b, ws.b.b, ws.y.b, ws.a2.b, ws.b2.b];
  if (ws.bias) bindings.push(ws.bias.b);
  ctx.rt.dispatch({
    pipeline: { ...kernel.pipeline, defines: { ...kernel.pipeline.defines, LORA_K: true } },
    bindings,
    params: {
      binding: 5,
      data: packParams(GEMM_LORA_PARAMS, { ...gemmParamValues({ alpha: 1, beta: 0 }, m, n, k, ws, 0, 0, 0), lora_r: r, lora_a_base: ws.a2.base, lora_b_base: ws.b2.base }),
    },
    workgroups: [Math.ceil(n / kernel.bn), Math.ceil(m / kernel.bm), 1],
  });
  return y;
}
