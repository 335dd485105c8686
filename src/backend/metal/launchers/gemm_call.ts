import { gemmOptions, type GemmOptions } from '../../../ops/gemm/spec.js';
import type { TensorInfo } from '../../../ops/types.js';
import type { Tensor } from '../../../tensor.js';
import type { MetalContext, MetalTier } from '../launch.js';
import { METAL4_TILE, gemmLauncher } from './gemm.js';

/**
 * One gemm product of a composed op (dw_gemm_accum, fused_lora_*) on the op's tier: on
 * `metal4` the MPP kernel takes every product whose reduction length is a multiple of its
 * K slice (32: the accelerator matmul is wrong on a partial slice), the others run on
 * metal3; on `metal3` every product does.
 */
export function gemmOn(ctx: MetalContext, tier: MetalTier, k: number, inputs: { a: Tensor; b: Tensor; c?: Tensor; bias?: Tensor }, options: GemmOptions, y: TensorInfo): Tensor {
  const t = gemmTierOn(tier, k);
  const given = Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== undefined)) as Record<string, Tensor>;
  return gemmLauncher.launch(ctx, t, given, gemmOptions.parse(options), { y }).y;
}

/** The tier gemmOn runs a product of reduction length `k` on, for an op on `tier`. */
export function gemmTierOn(tier: MetalTier, k: number): MetalTier {
  return tier === 'metal4' && k % METAL4_TILE.BK === 0 ? 'metal4' : 'metal3';
}
