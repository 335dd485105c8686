import { BYTES } from '../../../dtype.js';
import { gemmOptions } from '../../../ops/gemm/spec.js';
import type { QuantDims, QuantOptions } from '../../../ops/quant/formats.js';
import type { Tensor } from '../../../tensor.js';
import type { TensorInfo } from '../../../ops/types.js';
import { reshapeOwned, viewAs } from '../../view.js';
import type { LaunchContext, WebGpuTier } from '../launch.js';
import { launcherVariant } from '../tuning.js';
import { dequantizedWeight } from './dequantize.js';
import { gemmLauncher } from './gemm.js';

/**
 * PMETAL_QGEMM_PREFILL (quantized_gemm at M > 16, read at each launch):
 *   auto (default)   dequant on the subgroup-matrix tier (f16 and f32 x), tiles on the SIMT
 *                    tiers;
 *   tiles            qgemm_sgmat / qgemm_tiled: W's tiles decoded into workgroup memory inside
 *                    the product, W read once per tile row;
 *   dequant          W dequantized once into an f16 temporary [N, K] (the dequantize kernel,
 *                    ŵ rounded to f16 exactly as qgemm_sgmat stages it), then the f16 gemm
 *                    (its matrix-unit kernels on the subgroup-matrix tier) — what llama.cpp
 *                    does past its batch threshold. The decode writes and reads K·N·2 bytes
 *                    once, a few percent of a prefill product, and the product then runs at the
 *                    f16 gemm's rate: on an H100 (run S14) 2.30 ms at 4096×14336×4096 (mlx4;
 *                    q4_k 2.33) against qgemm_sgmat's 20.3 and the f16 gemm's 2.21. f16 x
 *                    (the bound counts ŵ's f16 rounding for f16 x alone) and f32 x: W
 *                    dequantized to f32 (ŵ exactly as the tiles compute it, the same bound),
 *                    then the f32 gemm — on the H100 5.12 ms at 4096×4096×4096 (mlx4, run S17,
 *                    1.37× onnxruntime-web's MatMulNBits in the same call) where qgemm_tiled
 *                    took 5.72 (run S14, 1.17×). bf16 x keeps the tiles. A temporary
 *                    of at most QGEMM_DEQUANT_MAX_BYTES and the device's maxBufferSize; else tiles.
 */
export const QGEMM_PREFILL_VARIANTS = ['auto', 'tiles', 'dequant'] as const;
export type QgemmPrefillVariant = (typeof QGEMM_PREFILL_VARIANTS)[number];
/** The largest copy of W the dequant plan makes (an 8B model's LM head, 128256×4096, is 1 GiB in f16). */
export const QGEMM_DEQUANT_MAX_BYTES = 2 ** 30;

/** Whether W's f16 / f32 copy (`bytes`) is one the dequant plan makes: within its cap and the device's maxBufferSize. */
export function dequantTempFits(bytes: number, maxBufferSize: number): boolean {
  return bytes <= Math.min(QGEMM_DEQUANT_MAX_BYTES, maxBufferSize);
}

export function qgemmPrefillVariant(v?: string): QgemmPrefillVariant {
  return launcherVariant('quantized_gemm', 'PMETAL_QGEMM_PREFILL', QGEMM_PREFILL_VARIANTS, v);
}

/**
 * y = x·ŵᵀ through the dequant plan where it applies (see above), else undefined (the caller
 * runs its tiled kernels). x is [M, K] or [B, S, K]; `y` the op's output info.
 */
export function dequantPrefill(ctx: LaunchContext, tier: WebGpuTier, i: Record<string, Tensor>, o: QuantOptions, d: QuantDims, y: TensorInfo): Tensor | undefined {
  const v = qgemmPrefillVariant();
  const dt = i.x.dtype;
  const dequant = (dt === 'f16' || dt === 'f32') && (v === 'dequant' || (v === 'auto' && tier === 'subgroup-matrix'));
  if (!dequant || !dequantTempFits(d.n * d.k * BYTES[dt], ctx.limits.maxBufferSize)) return undefined;
  const wd = dequantizedWeight(ctx, i, o, dt, d.n, d.k);
  const m = i.x.size / d.k;
  const out = gemmLauncher.launch(ctx, tier, { a: viewAs(i.x, [m, d.k]), b: wd }, gemmOptions.parse({ transB: true, outDtype: y.dtype }), { y: { dtype: y.dtype, shape: [m, d.n] } }).y;
  wd.dispose();
  return reshapeOwned(out, y.shape);
}
