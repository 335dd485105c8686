import type { DType } from '../../dtype.js';
import type { ChipInfo, MetalTier } from './launch.js';

/**
 * PMetal's KernelDispatch thresholds on m·n·k (DESIGN.md), per chip tier and dtype column.
 * bf16 uses the f16 column: PMetal gives no bf16 numbers, and bf16 runs the same 16-bit
 * NAX path as f16 (same operand width, same tile shapes).
 */
export const GEMM_THRESHOLDS: Record<ChipInfo['tier'], { f16: number; f32: number }> = {
  ultra: { f16: 524_288, f32: 1_048_576 },
  max: { f16: 524_288, f32: 1_048_576 },
  pro: { f16: 1_048_576, f32: 2_097_152 },
  base: { f16: 2_097_152, f32: 4_194_304 },
};

/** The m·n·k a gemm must exceed to go to metal4 on `chip` (after the alignment halving). */
export function gemmThreshold(chip: Pick<ChipInfo, 'tier'>, dtype: DType, n: number, k: number): number {
  const t = GEMM_THRESHOLDS[chip.tier] ?? GEMM_THRESHOLDS.base;
  const base = dtype === 'f32' ? t.f32 : t.f16;
  return n % 64 === 0 && k % 128 === 0 ? base / 2 : base;
}

/**
 * PMetal's rule for a gemm: metal4 (MPP matmul2d on the neural accelerators) only when the
 * chip has NAX (Apple10), M ≥ 2, K % 32 == 0 (NAX gives silently wrong results otherwise),
 * N ≥ 64, K ≥ 64 and m·n·k is above the chip tier's threshold (halved when N % 64 == 0 and
 * K % 128 == 0); metal3 otherwise. A pure function of the chip and the problem.
 */
export function routeGemm(chip: Pick<ChipInfo, 'tier' | 'hasNax'>, dtype: DType, m: number, n: number, k: number): MetalTier {
  if (!chip.hasNax) return 'metal3';
  if (m < 2 || k % 32 !== 0 || n < 64 || k < 64) return 'metal3';
  return m * n * k > gemmThreshold(chip, dtype, n, k) ? 'metal4' : 'metal3';
}


/**
 * The largest M that quantized_gemm runs as a decode (the metal3 qgemv: W streamed once, all
 * M rows of x against each decoded run of 8 weights).
 */
export const QGEMV_MAX_M = 16;

/**
 * quantized_gemm: decodes (M ≤ 16) stay on the metal3 qgemv, which reads each weight byte once
 * — a tensor-op tile would decode W once per 64 rows of x and leave the accelerator mostly
 * idle at that M. Prefills follow the gemm rule on the dequantized product (x's dtype picks
 * the threshold column; every quantized format's K is a multiple of 32).
 */
export function routeQuantizedGemm(chip: Pick<ChipInfo, 'tier' | 'hasNax'>, xDtype: DType, m: number, n: number, k: number): MetalTier {
  if (m <= QGEMV_MAX_M) return 'metal3';
  return routeGemm(chip, xDtype, m, n, k);
}
