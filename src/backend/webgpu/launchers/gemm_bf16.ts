import { bf16WindowDepth } from '../../../ops/gemm/bf16_mma.js';
import { defineParams, packParams } from '../../params.js';
import { grid, windowOf, type LaunchContext } from '../launch.js';
import { dtCode, type PipelineSpec } from '../pipelines.js';
import { tuning } from '../tuning.js';
import { sgmatChoice, vecAligned, type GemmCall, type GemmWindow } from './gemm.js';
import { GEMM_BF16_PARAMS, gemmParamValues } from './gemm_params.js';

/**
 * bf16 gemm on the f16 matrix units (wgsl/gemm/gemm_sgmat_bf16.wgsl after the prepass
 * gemm_bf16_exps.wgsl; method and bound: src/ops/gemm/bf16_mma.ts). WGSL subgroup matrices
 * have no bf16 type: each K window of a row of op(A) / column of op(B) is scaled by a power
 * of two so bf16 → f16 is exact, and window sums leave the matrix units for f32 registers
 * often enough that the accumulation stays within bf16's bound (γ_K), which the f16 tier's
 * whole-K matrix-unit accumulation (γ_2K) would not.
 */

export { GEMM_BF16_PARAMS } from './gemm_params.js';

export const GEMM_BF16_EXPS_PARAMS = defineParams([
  ['r', 'u32'],
  ['k', 'u32'],
  ['kf', 'u32'],
  ['nwin', 'u32'],
  ['base', 'u32'],
  ['bstride', 'u32'],
  ['out_bstride', 'u32'],
  ['groups_x', 'u32'],
]);

/** Tile of gemm_sgmat_bf16.wgsl. */
export const SGMAT_BF16_TILE = { BM: 128, BN: 128, BK: 32 } as const;

/** Workgroup bytes of gemm_sgmat_bf16.wgsl (f16 slices padded by 8, 8 f32 16×16 stages, the window entries, the flag). */
export function sgmatBf16WorkgroupBytes(transA: boolean, transB: boolean): number {
  const { BM, BN, BK } = SGMAT_BF16_TILE;
  const a = transA ? BK * (BM + 8) : BM * (BK + 8);
  const b = transB ? BN * (BK + 8) : BK * (BN + 8);
  return 2 * (a + b) + 8 * 256 * 4 + 4 * (BM + BN) + 16;
}

export function sgmatBf16Pipeline(call: Pick<GemmCall, 'variant'>): PipelineSpec {
  const v = call.variant;
  return { shader: 'gemm/gemm_sgmat_bf16.wgsl', defines: { A_DT: dtCode('bf16'), Y_DT: dtCode(v.yDtype), TRANS_A: v.transA, TRANS_B: v.transB, HAS_C: v.hasC, HAS_BIAS: v.hasBias } };
}

/**
 * The window depth when this problem takes the matrix-unit kernel, else undefined (the
 * portable tile kernel runs on this tier): bf16 operands on the subgroup-matrix tier of an
 * adapter with f16→f32 16×16×16 matrices and subgroups of 32, operands aligned to 8 halves
 * (16-byte loads, as gemm_sgmat_vec), K long enough that some window depth keeps D ≤ K
 * (bf16WindowDepth), the workgroup memory available, and PMETAL_GEMM_BF16_VARIANT not simt.
 */
export function bf16MmaWindow(call: GemmCall, m: number, n: number, k: number, aBase: number, bBase: number): number | undefined {
  if (call.tier !== 'subgroup-matrix' || call.aDtype !== 'bf16' || m === 0 || n === 0) return undefined;
  const variant = tuning().gemmBf16Variant;
  if (variant === 'simt') return undefined;
  const choice = sgmatChoice(call.ctx.adapter);
  if (choice.kernel !== 'f16-16' || choice.subgroupSize !== 32) return undefined;
  const { transA, transB } = call.variant;
  if (!vecAligned(8, m, n, k, transA, transB, aBase, bBase)) return undefined;
  if (sgmatBf16WorkgroupBytes(transA, transB) > call.ctx.limits.maxComputeWorkgroupStorageSize) return undefined;
  return bf16WindowDepth(k, variant === 'w256' ? 256 : 512);
}

/** The prepass over one operand: entries [batches][nwin][r] into `out` (exported for its test). */
export function recordExps(ctx: LaunchContext, src: GemmWindow, out: GemmWindow, r: number, k: number, kf: number, kContig: boolean, batches: number, stride: number): void {
  const nwin = Math.ceil(k / kf);
  const g = grid(ctx, Math.ceil((r * nwin) / 256));
  ctx.rt.dispatch({
    pipeline: { shader: 'gemm/gemm_bf16_exps.wgsl', defines: { K_CONTIG: kContig } },
    bindings: [
      { ...src.b, binding: 0 },
      { ...out.b, binding: 1 },
    ],
    params: {
      binding: 2,
      data: packParams(GEMM_BF16_EXPS_PARAMS, { r, k, kf, nwin, base: src.base, bstride: stride, out_bstride: r * nwin, groups_x: g.groupsX }),
    },
    workgroups: [g.workgroups[0], g.workgroups[1], batches],
  });
}

/**
 * Records the prepass over a and b and the gemm (m×n×k over `batches` batches; a and b
 * advance by their strides, 0 = broadcast, whose entries are then computed once).
 */
export function recordGemmBf16(
  call: GemmCall,
  m: number,
  n: number,
  k: number,
  kf: number,
  w: { a: GemmWindow; b: GemmWindow; c?: GemmWindow; bias?: GemmWindow; y: GemmWindow },
  batches: number,
  aStride: number,
  bStride: number,
): void {
  const { ctx, variant } = call;
  const nwin = Math.ceil(k / kf);
  const aB = aStride ? batches : 1;
  const bB = bStride ? batches : 1;
  const ea = ctx.output({ dtype: 'u32', shape: [aB * m * nwin] });
  const eb = ctx.output({ dtype: 'u32', shape: [bB * n * nwin] });
  const eaw = windowOf(ctx, ea, 6, 0, ea.size);
  const ebw = windowOf(ctx, eb, 7, 0, eb.size);
  recordExps(ctx, w.a, eaw, m, k, kf, !variant.transA, aB, aStride);
  recordExps(ctx, w.b, ebw, n, k, kf, variant.transB, bB, bStride);
  const bindings = [w.a.b, w.b.b, w.y.b, eaw.b, ebw.b];
  if (w.c) bindings.push(w.c.b);
  if (w.bias) bindings.push(w.bias.b);
  ctx.rt.dispatch({
    pipeline: sgmatBf16Pipeline(call),
    bindings,
    params: {
      binding: 5,
      data: packParams(GEMM_BF16_PARAMS, {
        ...gemmParamValues(call, m, n, k, w, aStride, bStride, 0),
        kf,
        ea_bstride: aStride ? m * nwin : 0,
        eb_bstride: bStride ? n * nwin : 0,
      }),
    },
    workgroups: [Math.ceil(n / SGMAT_BF16_TILE.BN), Math.ceil(m / SGMAT_BF16_TILE.BM), batches],
  });
  ea.dispose();
  eb.dispose();
}
