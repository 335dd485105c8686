import { BYTES } from '../../../dtype.js';
import { OptionsError } from '../../../errors.js';
import type { Tensor } from '../../../tensor.js';
import { packParams } from '../../params.js';
import { windowLimit, windowOf, type LaunchContext, type WebGpuTier } from '../launch.js';
import type { PipelineSpec } from '../pipelines.js';
import { tuning } from '../tuning.js';
import { GEMV_TILE, gemmParamValues, pickKernel, type GemmCall } from './gemm.js';
import { GEMM_LORA_PARAMS } from './gemm_params.js';
import { splitKPlan } from './gemm_splitk.js';

/**
 * PMETAL_LORA_GEMM_VARIANT (read at each launch, so `pmetal bench --variants` can switch it;
 * all are within fused_lora_forward's one bound, loraForwardErrors):
 *   auto (default)  the LoRA term inside the base product's K loop where that product runs
 *                   gemm_tiled (gemm_tiled_lora.wgsl: the portable and subgroups tiers, checked
 *                   on lavapipe), three gemm launches where it runs gemm_sgmat_vec — until the
 *                   H100's quick conformance has passed that kernel's LORA_K (lavapipe has no
 *                   matrix units: there it is compiled, validated and its plan tested only;
 *                   bench/device-s11-c.sh runs it);
 *   fused           the K-loop term on both kernels (gemm_sgmat_lora.wgsl for gemm_sgmat_vec);
 *   composed        always three gemm launches, t = s·xa'·Bᵀ written [T, N] and read back as
 *                   the base product's c.
 */
export const LORA_GEMM_VARIANTS = ['auto', 'fused', 'composed'] as const;
export type LoraGemmVariant = (typeof LORA_GEMM_VARIANTS)[number];

export function loraGemmVariant(v = typeof process !== 'undefined' ? process.env.PMETAL_LORA_GEMM_VARIANT : undefined): LoraGemmVariant {
  if (v === undefined || v === '') return 'auto';
  if (!(LORA_GEMM_VARIANTS as readonly string[]).includes(v)) throw new OptionsError(`[fused_lora_forward] PMETAL_LORA_GEMM_VARIANT: expected one of ${LORA_GEMM_VARIANTS.join(', ')}, got '${v}'`);
  return v as LoraGemmVariant;
}

/** The base product's kernel with LORA_K, its tile, and the bases of the operands' windows. */
export interface LoraGemmPlan {
  pipeline: PipelineSpec;
  bm: number;
  bn: number;
}

/**
 * Where y = x·Wᵀ (+ bias) + xs·Bᵀ runs as one LORA_K dispatch, its plan: the kernel gemm
 * would pick for x·Wᵀ on this tier (pickKernel), if that is gemm_tiled (any dtype, any r) or
 * — with the `fused` variant — gemm_sgmat_vec (f16, r a multiple of 8 and B on 16-byte words,
 * so its 16-byte reads never straddle an edge); more rows than the decode GEMV takes (T ≤ 16
 * stays on it); every operand within one binding; a product the split-K model would not split
 * (those keep gemm's split: one tile row over a long K gains more from it). Else undefined.
 */
export function loraGemmPlan(ctx: LaunchContext, tier: WebGpuTier, x: Tensor, w: Tensor, loraB: Tensor, hasBias: boolean): LoraGemmPlan | undefined {
  const variant = loraGemmVariant();
  if (variant === 'composed') return undefined;
  const [m, k] = x.shape;
  const [n, r] = loraB.shape;
  if (m <= GEMV_TILE.MAX_M || n === 0) return undefined;
  const limit = windowLimit(ctx);
  if (Math.max(x.size, w.size, loraB.size, m * n, m * r) * BYTES[x.dtype] > limit) return undefined;
  const call: GemmCall = { ctx, tier, aDtype: x.dtype, variant: { yDtype: x.dtype, transA: false, transB: true, hasC: false, hasBias }, alpha: 1, beta: 0 };
  const pick = pickKernel(call, m, n, k, windowOf(ctx, x, 0, 0, x.size).base, windowOf(ctx, w, 1, 0, w.size).base);
  const shader = pick.pipeline.shader;
  const sgmat = shader === 'gemm/gemm_sgmat_vec.wgsl';
  // On the subgroup-matrix tier only its own kernel: bf16 there runs gemm_bf16's matrix-unit
  // windows, which pickKernel does not name (it answers gemm_tiled for them).
  if (tier === 'subgroup-matrix' ? !(sgmat && variant === 'fused') : shader !== 'gemm/gemm_tiled.wgsl') return undefined;
  if (sgmat && (r % 8 !== 0 || windowOf(ctx, loraB, 10, 0, loraB.size).base % 8 !== 0)) return undefined;
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (Math.ceil(n / pick.bn) > maxGroups || Math.ceil(m / pick.bm) > maxGroups) return undefined;
  if (tuning().gemm.splitK && splitKPlan(m, n, k, pick.bm, pick.bn, limit)) return undefined;
  return { pipeline: { ...pick.pipeline, defines: { ...pick.pipeline.defines, LORA_K: true } }, bm: pick.bm, bn: pick.bn };
}

/**
 * y = x·Wᵀ (+ bias) + xs·Bᵀ in one dispatch of `plan` (loraGemmPlan): xs [T, r] (the caller's
 * s·xa rounded to x's dtype, a fresh tensor) and B [N, r] enter as r more K columns of the
 * same f32 accumulators, so the LoRA term adds r/K to the matrix work and nothing to the memory
 * traffic but xs and B themselves.
 */
export function loraGemm(ctx: LaunchContext, plan: LoraGemmPlan, x: Tensor, w: Tensor, xs: Tensor, loraB: Tensor, bias: Tensor | undefined): Tensor {
  const [m, k] = x.shape;
  const [n, r] = loraB.shape;
  const y = ctx.output({ dtype: x.dtype, shape: [m, n] });
  const whole = (t: Tensor, binding: number) => windowOf(ctx, t, binding, 0, t.size);
  const ws = { a: whole(x, 0), b: whole(w, 1), y: whole(y, 4), la: whole(xs, 9), lb: whole(loraB, 10), bias: bias ? windowOf(ctx, bias, 3, 0, n) : undefined };
  if (plan.pipeline.shader === 'gemm/gemm_sgmat_vec.wgsl' && ws.la.base % 8 !== 0) throw new Error('[fused_lora_forward] internal: xs does not start on a 16-byte word');
  const bindings = [ws.a.b, ws.b.b, ws.y.b, ws.la.b, ws.lb.b];
  if (ws.bias) bindings.push(ws.bias.b);
  ctx.rt.dispatch({
    pipeline: plan.pipeline,
    bindings,
    params: {
      binding: 5,
      data: packParams(GEMM_LORA_PARAMS, { ...gemmParamValues({ alpha: 1, beta: 0 }, m, n, k, ws, 0, 0, 0), lora_r: r, lora_a_base: ws.la.base, lora_b_base: ws.lb.base }),
    },
    workgroups: [Math.ceil(n / plan.bn), Math.ceil(m / plan.bm), 1],
  });
  return y;
}
