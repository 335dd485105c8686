import { BYTES, type DType } from '../../../dtype.js';
import { rowsCols } from '../../../ops/check.js';
import { checkQuantWeight, type QuantDims, type QuantOptions } from '../../../ops/quant/formats.js';
import { tuning } from '../tuning.js';
import { defineParams, packParams } from '../../params.js';
import { TierUnavailableError } from '../../../errors.js';
import { dtCode } from '../pipelines.js';
import { reductionTiers, rowChunks, windowOf, type AdapterTraits, type Launcher, type LaunchContext, type WebGpuTier } from '../launch.js';
import { sgmatChoice } from './gemm.js';
import { quantDefines, quantRowBytes, quantWindows } from './quant.js';
import { dequantPrefill } from './qgemm_prefill.js';

export const QGEMM_PARAMS = defineParams([
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['w_base', 'u32'],
  ['row_units', 'u32'],
  ['s_base', 'u32'],
  ['group', 'u32'],
  ['gpr', 'u32'],
  ['x_base', 'u32'],
  ['y_base', 'u32'],
  ['ldy', 'u32'],
]);

/** Decode kernel (qgemv.wgsl): rows of x per pass (all of them: M ≤ MAX_M) and columns per workgroup. */
export const QGEMV_TILE = { MAX_M: 16, BN: 8 } as const;
/** Decode kernels qgemv_sg.wgsl and qgemv_rows.wgsl: columns of y (rows of W) per workgroup. */
export const QGEMV_ROWS_BN = 4;
/** qgemv_sg.wgsl's invocations per workgroup by variant ('sg' and 'sg128'). */
export const QGEMV_SG_WG = { sg: 64, sg128: 128 } as const;
/**
 * qgemv_wide.wgsl by variant: invocations per workgroup (WG) and 16-byte units of each row
 * in flight per invocation (UF); rows of W per workgroup (BN); the largest M it takes (its
 * sums: 8 a row of x per invocation, and 8·M ≤ 64 invocations store them); the largest M
 * 'auto' gives it in every case (AUTO_M; M = 5…8: midM); the rows of W from which 'auto' takes
 * 'wide' over 'wide128' (AUTO_N).
 */
export const QGEMV_WIDE = { wide: { WG: 64, UF: 1 }, wide2: { WG: 64, UF: 2 }, wide128: { WG: 128, UF: 1 }, BN: 8, MAX_M: 8, AUTO_M: 4, AUTO_N: 65536 } as const;

/**
 * 'auto' at AUTO_M < M ≤ MAX_M, from run S17's H100 rows (call D, M = 8, 14336×4096): with f32
 * x 'wide128' — 0.105 / 0.085 / 0.104 ms (mlx4 / q4_k / q4_0) against qgemv_rows' 0.138 / 0.158 /
 * 0.146, x's words (twice f16's) served to 8 rows of W instead of 4; with f16 x 'wide' for
 * q4_k (0.077 against 0.090), 'rows' for the others (mlx4 0.065 against 0.075, q4_0 0.076
 * against 0.090) and for bf16 x (untimed). Past MAX_M 'rows'.
 */
function midM(d: QuantDims, m: number, xDtype: DType): 'rows' | 'wide' | 'wide128' {
  if (m > QGEMV_WIDE.MAX_M) return 'rows';
  if (xDtype === 'f32') return 'wide128';
  // bf16 x was not timed: it keeps the earlier default.
  return xDtype === 'f16' && d.format === 'q4_k' ? 'wide' : 'rows';
}

/**
 * The decode kernel for rows [n0, n0 + n) of W, by PMETAL_QGEMV_VARIANT (tuning.ts):
 * - 'auto' (default), from run S14's H100 rows (bench/results/2026-12-07-S14/call-b): at
 *   M ≤ 4 in the formats qgemv_wide reads, 'wide' where the grid is large (n ≥
 *   QGEMV_WIDE.AUTO_N: the LM head, mlx4 / q4_k / q4_0 at 0.156 / 0.193 / 0.162 ms against
 *   qgemv_sg's 0.175 / 0.302 / 0.172), else 'wide128' (128 lanes a workgroup keep more loads
 *   in flight on a grid of a few thousand workgroups: the MLP shapes, 0.026–0.032 ms); the
 *   other formats at M ≤ 4 'sg'; M = 5…8 as midM picks; M > 8 'rows' (M = 8, run S14:
 *   0.066–0.094 ms against 'sg' 0.086–0.112);
 * - 'wide' / 'wide2' / 'wide128': qgemv_wide.wgsl (8 rows a workgroup; QGEMV_WIDE) on tiers
 *   with subgroups for M ≤ 8 and the formats it reads as aligned words — MLX 4-bit on
 *   16-byte boundaries, Q4_K on 16-byte boundaries, Q4_0 on 4-byte ones; everything else
 *   (MLX 8-bit, Q8_0, Q6_K, unaligned rows, M > 8) runs 'sg';
 * - 'sg' / 'sg128': qgemv_sg.wgsl with 64 / 128 invocations, on tiers with
 *   subgroups (its reduction is subgroupAdd); rows read as whole aligned words where the
 *   chunk's packed rows allow it (UVEC: MLX and Q4_K on 16-byte boundaries — K is a multiple
 *   of 32, resp. Q4_K rows of 144-byte super-blocks, so every row then is —, Q4_0 on 4-byte
 *   boundaries), else through decode32.wgsl;
 * - 'rows' (and the portable tier): qgemv_rows.wgsl;
 * - 'column', or where N/4 workgroups exceed the grid: the column kernel qgemv.wgsl.
 * All specialised on M.
 */
export function decodeKernel(ctx: LaunchContext, tier: WebGpuTier, d: QuantDims, m: number, n: number, wBase: number, xDtype: DType): { shader: string; defines: Record<string, number | boolean>; bn: number } {
  const chosen = tuning().qgemvVariant;
  const variant = chosen !== 'auto' ? chosen : m > QGEMV_WIDE.AUTO_M ? midM(d, m, xDtype) : n >= QGEMV_WIDE.AUTO_N ? 'wide' : 'wide128';
  if (variant !== 'column' && Math.ceil(n / QGEMV_ROWS_BN) <= ctx.limits.maxComputeWorkgroupsPerDimension) {
    const mlxVec = d.info.kind === 'mlx' && wBase % 4 === 0 && d.rowUnits % 4 === 0;
    // GGUF rows in bytes: every row starts on a 4-byte boundary (Q4_K's word reads).
    const galign = d.info.kind === 'gguf' && wBase % 4 === 0 && d.rowUnits % 4 === 0;
    if (variant !== 'rows' && tier !== 'portable') {
      const k16 = d.format === 'q4_k' && wBase % 16 === 0 && d.rowUnits % 16 === 0;
      const q40 = d.format === 'q4_0' && galign;
      const uvec = mlxVec || k16 || q40;
      if (variant === 'wide' || variant === 'wide2' || variant === 'wide128') {
        const w = QGEMV_WIDE[variant];
        if (m <= QGEMV_WIDE.MAX_M && ((mlxVec && d.format === 'mlx4') || k16 || q40)) {
          return { shader: 'quant/qgemv_wide.wgsl', defines: { MT: m, WG: w.WG, UF: w.UF, GS: d.info.kind === 'mlx' ? d.group : 0, KSEL: k16, GALIGN: galign }, bn: QGEMV_WIDE.BN };
        }
      }
      const wg = variant === 'sg128' ? QGEMV_SG_WG.sg128 : QGEMV_SG_WG.sg;
      return { shader: 'quant/qgemv_sg.wgsl', defines: { MT: m, WG: wg, UVEC: uvec, GALIGN: galign }, bn: QGEMV_ROWS_BN };
    }
    return { shader: 'quant/qgemv_rows.wgsl', defines: { MT: m, WVEC: mlxVec, GALIGN: galign }, bn: QGEMV_ROWS_BN };
  }
  // The column kernel keeps the next power of two ≥ M accumulators per lane (ROWS).
  const rows = 2 ** Math.ceil(Math.log2(Math.max(1, m)));
  return { shader: 'quant/qgemv.wgsl', defines: { SUBGROUPS: tier !== 'portable', ROWS: rows }, bn: QGEMV_TILE.BN };
}
/** Prefill kernel (qgemm_tiled.wgsl): the tile of y per workgroup. */
export const QGEMM_TILE = { BM: 64, BN: 64 } as const;
/**
 * Prefill on the subgroup-matrix tier (qgemm_sgmat.wgsl): its tile and workgroup memory
 * (f16 slices of 128 + 128 rows, 40 halves a row with WIDE_SMEM, 16 without; 8 f32 16×16 stages).
 */
export const QGEMM_SGMAT_TILE = { BM: 128, BN: 128, BYTES_WIDE: 2 * (128 + 128) * 40 + 4 * 8 * 256, BYTES_NARROW: 2 * (128 + 128) * 16 + 4 * 8 * 256 } as const;

/**
 * 'subgroup-matrix' for f16 x where the adapter has a subgroup-matrix configuration the
 * f16 gemm kernels use (f16→f32 16×16×16, sgmatChoice) and shader-f16 and subgroups; below
 * it the SIMT tiers. lavapipe has none: the tier is not offered there, and nothing else changes.
 */
function qgemmTiers(d: string, f: Set<string>, adapter?: AdapterTraits): WebGpuTier[] {
  const sgmat = d === 'f16' && f.has('chromium-experimental-subgroup-matrix') && f.has('shader-f16') && f.has('subgroups') && (!adapter || sgmatChoice(adapter).kernel === 'f16-16');
  return sgmat ? ['subgroup-matrix', ...reductionTiers(f)] : reductionTiers(f);
}

/**
 * The prefill kernel for this call: on the subgroup-matrix tier qgemm_sgmat, with 32-deep
 * padded slices where the device's workgroup memory allows (else 16-deep ones, which fit
 * WebGPU's minimum); the SIMT tiles otherwise.
 */
function prefillKernel(ctx: LaunchContext, tier: WebGpuTier): { shader: string; defines?: Record<string, boolean>; overrides?: Record<string, number>; bm: number; bn: number } {
  if (tier === 'subgroup-matrix') {
    const choice = sgmatChoice(ctx.adapter);
    if (choice.kernel !== 'f16-16') throw new TierUnavailableError(`[quantized_gemm] tier 'subgroup-matrix': ${choice.kernel ? `the kernel is written for f16→f32 16×16×16; the adapter's fits ${choice.kernel} only` : choice.reason}`);
    const wide = QGEMM_SGMAT_TILE.BYTES_WIDE <= ctx.limits.maxComputeWorkgroupStorageSize;
    return { shader: 'quant/qgemm_sgmat.wgsl', defines: { WIDE_SMEM: wide }, overrides: { SG_SIZE: choice.subgroupSize }, bm: QGEMM_SGMAT_TILE.BM, bn: QGEMM_SGMAT_TILE.BN };
  }
  return { shader: 'quant/qgemm_tiled.wgsl', bm: QGEMM_TILE.BM, bn: QGEMM_TILE.BN };
}

/**
 * quantized_gemm: M ≤ 16 takes the decode kernel (W streamed once, the whole of x per pass),
 * larger M the tiled prefill kernel. Every tier runs both; 'subgroups' (and
 * 'subgroup-matrix') reduce the decode kernel's partial sums with subgroup shuffles, and
 * 'subgroup-matrix' runs the prefill on the matrix units (qgemm_sgmat.wgsl). W is chunked
 * by rows (columns of y) and x by rows so every binding's window fits the limits.
 */
export const quantizedGemmLauncher: Launcher = {
  tiers: qgemmTiers,
  launch(ctx, tier, i, o: QuantOptions, outs) {
    const x = i.x;
    const [m, k] = rowsCols(x.shape);
    const d = checkQuantWeight('quantized_gemm', i, o, k);
    const decode = m <= QGEMV_TILE.MAX_M;
    // Prefill on the matrix units (or PMETAL_QGEMM_PREFILL=dequant): W decoded once to f16, then
    // the f16 gemm (qgemm_prefill.ts).
    const viaGemm = decode ? undefined : dequantPrefill(ctx, tier, i, o, d, outs.y);
    if (viaGemm) return { y: viaGemm };
    const y = ctx.output(outs.y);
    const prefill = decode ? undefined : prefillKernel(ctx, tier);
    const common = { ...quantDefines(d), X_DT: dtCode(x.dtype), Y_DT: dtCode(y.dtype) };
    const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
    const xRows = decode ? [[0, m] as [number, number]] : rowChunks(ctx, m, Math.max(k * BYTES[x.dtype], d.n * BYTES[y.dtype]));
    for (const [n0, n1] of rowChunks(ctx, d.n, quantRowBytes(d))) {
      for (const [m0, m1] of xRows) {
        const n = n1 - n0;
        const q = quantWindows(ctx, d, i, n0, n1);
        const xw = windowOf(ctx, x, 3, m0 * k, (m1 - m0) * k);
        const yw = windowOf(ctx, y, 4, m0 * d.n + n0, (m1 - m0 - 1) * d.n + n);
        const dk = prefill ? undefined : decodeKernel(ctx, tier, d, m, n, q.params.w_base, x.dtype);
        const shader = prefill?.shader ?? dk!.shader;
        const defines = { ...common, ...(prefill ? prefill.defines : dk!.defines) };
        const gx = Math.ceil(n / (prefill?.bn ?? dk!.bn));
        const gy = prefill ? Math.ceil((m1 - m0) / prefill.bm) : 1;
        if (gx > maxGroups || gy > maxGroups) throw new RangeError(`[quantized_gemm] ${m}×${n} needs ${gx}×${gy} workgroups, over maxComputeWorkgroupsPerDimension (${maxGroups})`);
        ctx.rt.dispatch({
          pipeline: { shader, defines, ...(prefill?.overrides ? { overrides: prefill.overrides } : {}) },
          bindings: [...q.bindings, xw.b, yw.b],
          params: { binding: 5, data: packParams(QGEMM_PARAMS, { m: m1 - m0, n, k, x_base: xw.base, y_base: yw.base, ldy: d.n, ...q.params }) },
          workgroups: [gx, gy],
        });
      }
    }
    return { y };
  },
};
