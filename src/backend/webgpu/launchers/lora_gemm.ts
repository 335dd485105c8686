import { BYTES } from '../../../dtype.js';
import type { Tensor } from '../../../tensor.js';
import { packParams } from '../../params.js';
import { windowLimit, windowOf, type LaunchContext, type WebGpuTier } from '../launch.js';
import type { PipelineSpec } from '../pipelines.js';
import { launcherVariant, tuning } from '../tuning.js';
import { GEMV_TILE, gemmParamValues, pickKernel, type GemmCall } from './gemm.js';
import { GEMM_LORA_PARAMS } from './gemm_params.js';
import { splitKPlan } from './gemm_splitk.js';

/**
 * PMETAL_LORA_GEMM_VARIANT (read at each launch, so `pmetal bench --variants` can switch it;
 * all are within fused_lora_forward's one bound, loraForwardErrors):
 *   auto (default)  the LoRA term inside the base product's K loop where that product runs
 *                   gemm_tiled (gemm_tiled_lora.wgsl: the portable and subgroups tiers, checked
 *                   on lavapipe), in its epilogue where it runs gemm_sgmat_vec (as epi: the
 *                   H100's quick conformance passed it, 205 cases, and it was the fastest plan
 *                   in run S14: 2.34 against the composed 2.72 ms at T 4096, K 4096, N 14336,
 *                   r 16, the plain gemm 2.21), three gemm launches past epi's r ≤ 32;
 *   fused           the K-loop term on both kernels (gemm_sgmat_lora.wgsl for gemm_sgmat_vec);
 *   first           as fused, with gemm_sgmat_vec's r columns before the base loop instead of
 *                   after it (LORA_FIRST: the run S11 slowdown of the tail is a code-layout
 *                   effect on the base loop, so its place is measured on its own; run S13:
 *                   3.149 ms against the composed 2.686);
 *   epi             as fused, with gemm_sgmat_vec's term joining each accumulator in the
 *                   epilogue instead of a K-loop tail (LORA_EPI, gemm_sgmat_lora_epi.wgsl:
 *                   xs and B staged once per tile, one or two 16-deep products per 16×16
 *                   result just before its store; r ≤ 32, else three launches) — auto's plan,
 *                   by name, for `bench --variants`;
 *   composed        always three gemm launches, t = s·xa'·Bᵀ written [T, N] and read back as
 *                   the base product's c.
 */
export const LORA_GEMM_VARIANTS = ['auto', 'fused', 'composed', 'first', 'epi'] as const;
/**
 * LORA_EPI's staged rank (gemm_sgmat_lora_epi.wgsl's LRMAX = min(32, NBUF·BK)): 32, or 16
 * where the tile's single 16-deep slices (SHALLOW_K without DBUF) leave room for no more.
 */
export function loraEpiMaxR(defines: Record<string, unknown> | undefined): number {
  return Math.min(32, (defines?.DBUF ? 2 : 1) * (defines?.SHALLOW_K ? 16 : 32));
}
export type LoraGemmVariant = (typeof LORA_GEMM_VARIANTS)[number];

export function loraGemmVariant(v?: string): LoraGemmVariant {
  return launcherVariant('fused_lora_forward', 'PMETAL_LORA_GEMM_VARIANT', LORA_GEMM_VARIANTS, v);
}

/** The base product's kernel with LORA_K, its tile, and the bases of the operands' windows. */
export interface LoraGemmPlan {
  pipeline: PipelineSpec;
  bm: number;
  bn: number;
}

/** The sizes of y = a·op(b) + la·op(lb): a [m, k], b [n, k] (transB) or [k, n], lb like b with r for k. */
function loraDimsOf(a: Tensor, b: Tensor, lb: Tensor, transB: boolean) {
  const [m, k] = a.shape;
  return { m, k, n: transB ? b.shape[0] : b.shape[1], r: transB ? lb.shape[1] : lb.shape[0] };
}

/**
 * Where y = a·op(b) (+ bias) + la·op(lb) runs as one LORA_K dispatch, its plan — the forward's
 * y = x·Wᵀ + xs·Bᵀ (transB) and the backward's dx = dy·W + gs·A (b, lb untransposed): the
 * kernel gemm would pick for a·op(b) on this tier (pickKernel), if that is gemm_tiled (any
 * dtype, any r) or gemm_sgmat_vec (f16, r a multiple of 8 and lb on 16-byte words, so its
 * 16-byte reads never straddle an edge; r ≤ loraEpiMaxR for the epilogue); more rows than the decode
 * GEMV takes (m ≤ 16 stays on it); every operand within one binding; a product the split-K
 * model would not split (those keep gemm's split: one tile row over a long K gains more from
 * it). Else undefined.
 */
export function loraGemmPlan(ctx: LaunchContext, tier: WebGpuTier, a: Tensor, b: Tensor, lb: Tensor, transB: boolean, hasBias: boolean): LoraGemmPlan | undefined {
  const variant = loraGemmVariant();
  if (variant === 'composed') return undefined;
  const { m, k, n, r } = loraDimsOf(a, b, lb, transB);
  if (m <= GEMV_TILE.MAX_M || n === 0) return undefined;
  const limit = windowLimit(ctx);
  if (Math.max(a.size, b.size, lb.size, m * n, m * r) * BYTES[a.dtype] > limit) return undefined;
  const call: GemmCall = { ctx, tier, aDtype: a.dtype, variant: { yDtype: a.dtype, transA: false, transB, hasC: false, hasBias }, alpha: 1, beta: 0 };
  const pick = pickKernel(call, m, n, k, windowOf(ctx, a, 0, 0, a.size).base, windowOf(ctx, b, 1, 0, b.size).base);
  const shader = pick.pipeline.shader;
  const sgmat = shader === 'gemm/gemm_sgmat_vec.wgsl';
  // On the subgroup-matrix tier only its own kernel: bf16 there runs gemm_bf16's matrix-unit
  // windows, which pickKernel does not name (it answers gemm_tiled for them).
  if (tier === 'subgroup-matrix' ? !sgmat : shader !== 'gemm/gemm_tiled.wgsl') return undefined;
  if (sgmat && (r % 8 !== 0 || windowOf(ctx, lb, 10, 0, lb.size).base % 8 !== 0)) return undefined;
  const epi = sgmat && (variant === 'epi' || variant === 'auto');
  if (epi && r > loraEpiMaxR(pick.pipeline.defines)) return undefined;
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (Math.ceil(n / pick.bn) > maxGroups || Math.ceil(m / pick.bm) > maxGroups) return undefined;
  if (tuning().gemm.splitK && splitKPlan(m, n, k, pick.bm, pick.bn, limit)) return undefined;
  return { pipeline: { ...pick.pipeline, defines: { ...pick.pipeline.defines, LORA_K: true, ...(sgmat && variant === 'first' ? { LORA_FIRST: true } : {}), ...(epi ? { LORA_EPI: true } : {}) } }, bm: pick.bm, bn: pick.bn };
}

/**
 * y = a·op(b) (+ bias) + la·op(lb) in one dispatch of `plan` (loraGemmPlan, the same transB):
 * la [m, r] (the caller's scaled LoRA operand in a's dtype — the forward's xs = s·xa, the
 * backward's gs = s/(1−p)·g —, a fresh tensor) and lb enter as r more K columns of the same
 * f32 accumulators, so the LoRA term adds r/K to the matrix work and nothing to the memory
 * traffic but la and lb themselves.
 */
export function loraGemm(ctx: LaunchContext, plan: LoraGemmPlan, a: Tensor, b: Tensor, la: Tensor, lb: Tensor, transB: boolean, bias: Tensor | undefined): Tensor {
  const { m, k, n, r } = loraDimsOf(a, b, lb, transB);
  const y = ctx.output({ dtype: a.dtype, shape: [m, n] });
  const whole = (t: Tensor, binding: number) => windowOf(ctx, t, binding, 0, t.size);
  const ws = { a: whole(a, 0), b: whole(b, 1), y: whole(y, 4), la: whole(la, 9), lb: whole(lb, 10), bias: bias ? windowOf(ctx, bias, 3, 0, n) : undefined };
  if (plan.pipeline.shader === 'gemm/gemm_sgmat_vec.wgsl' && ws.la.base % 8 !== 0) throw new Error(`[${ctx.rt.op ?? 'fused_lora'}] internal: the LoRA operand does not start on a 16-byte word`);
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
