import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { grid, windowLimit, windowOf, type LaunchContext } from '../launch.js';
import { launcherVariant } from '../tuning.js';
import { GEMV_TILE } from './gemm.js';

/**
 * PMETAL_LORA_XA_VARIANT (read at each launch; both within fused_lora_forward's bound, which
 * counts x·Aᵀ's f32 sums in any order):
 *   gemm (default)  xa = x·Aᵀ [T, r] through the gemm launcher: on the matrix units a 128×256
 *                   split-K tile of which r columns are used (15/16 of the tile's matrix work
 *                   is padding at r = 16);
 *   gemv            for r ≤ 16: xaᵀ = A·xᵀ [r, T] through the decode GEMV (A's r rows as its M
 *                   rows, x streamed once as its weights), then lora_transpose.wgsl to [T, r].
 *                   Untimed on a GPU until bench/device-s12-a.sh's successor runs it.
 */
export const LORA_XA_VARIANTS = ['gemm', 'gemv'] as const;
export type LoraXaVariant = (typeof LORA_XA_VARIANTS)[number];
export function loraXaVariant(v?: string): LoraXaVariant {
  return launcherVariant('fused_lora_forward', 'PMETAL_LORA_XA_VARIANT', LORA_XA_VARIANTS, v);
}

/** lora/lora_transpose.wgsl. */
export const LORA_TRANSPOSE_PARAMS = defineParams([
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['groups_x', 'u32'],
  ['src_base', 'u32'],
  ['dst_base', 'u32'],
]);

const WG = 256;

/** Whether the gemv variant takes x·Aᵀ for T rows of x and rank r (both results within one binding). */
export function loraXaByGemv(ctx: LaunchContext, t: number, r: number): boolean {
  return loraXaVariant() === 'gemv' && r <= GEMV_TILE.MAX_M && t > GEMV_TILE.MAX_M && t * r * 4 <= windowLimit(ctx);
}

/** src [rows, cols] f32 → a new [cols, rows] f32 tensor (lora_transpose.wgsl). */
export function transposeF32(ctx: LaunchContext, src: Tensor): Tensor {
  const [rows, cols] = src.shape;
  const dst = ctx.output({ dtype: 'f32', shape: [cols, rows] });
  const sw = windowOf(ctx, src, 0, 0, src.size);
  const dw = windowOf(ctx, dst, 1, 0, dst.size);
  const g = grid(ctx, Math.ceil((rows * cols) / WG));
  ctx.rt.dispatch({
    pipeline: { shader: 'lora/lora_transpose.wgsl', defines: {}, overrides: { WG } },
    bindings: [sw.b, dw.b],
    params: { binding: 2, data: packParams(LORA_TRANSPOSE_PARAMS, { rows, cols, groups_x: g.groupsX, src_base: sw.base, dst_base: dw.base }) },
    workgroups: g.workgroups,
  });
  return dst;
}
