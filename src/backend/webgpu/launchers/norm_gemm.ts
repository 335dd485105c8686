import { BYTES, type DType } from '../../../dtype.js';
import { LimitError } from '../../../errors.js';
import { gemmDims } from '../../../ops/gemm/dims.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { windowLimit, windowOf, type LaunchContext, type WebGpuTier } from '../launch.js';
import type { PipelineSpec } from '../pipelines.js';
import type { Binding } from '../runtime.js';
import { tuning } from '../tuning.js';
import { GEMM_PARAMS, gemmParamValues, TILED_CONFIGS, gemmPipeline, sgmatVecKernel, tiledConfig, vecAligned, type GemmCall, type GemmVariant } from './gemm.js';
import { recordSplitKReduce, splitKPlan } from './gemm_splitk.js';

/** NormParams in gemm/gemm_norm.wgsl (a storage buffer, bound at 8). */
export const NORM_PARAMS = defineParams([
  ['rs_base', 'u32'],
  ['g_base', 'u32'],
  ['thr', 'u32'],
  ['seed_mix', 'u32'],
]);

/** The normalised operand: x as stored, read as (x·rs[row])·g[col], masked where `thr` ≠ 0. */
export interface NormOperand {
  /** Which gemm operand x is ('a': [M, K] untransposed; 'b': [K, N] untransposed). */
  which: 'a' | 'b';
  rs: Tensor;
  g: Tensor;
  thr: number;
  seedMix: number;
}

/** The aligned subgroup-matrix kernel with the norm switch, when this problem can take it (γ read as 16-byte words too; else the tiled path runs). */
function sgmatNormKernel(ctx: LaunchContext, aDtype: DType, v: GemmVariant, m: number, n: number, k: number, bases: { a: number; b: number; g: number }): { pipeline: PipelineSpec; bm: number; bn: number } | undefined {
  return bases.g % 8 === 0 ? sgmatVecKernel(ctx, aDtype, v, m, n, k, bases.a, bases.b) : undefined;
}

/**
 * y = alpha·op(a)·op(b) (+ beta·c + bias) with one operand normalised as the kernel fetches
 * it (NORM_A / NORM_B), every operand within one binding (the normalised operand's row and
 * column index the mask, so it is never split; a LimitError names the limit otherwise).
 * On the subgroup-matrix tier, f16 operands whose rows are whole 16-byte words (and γ too)
 * run gemm_sgmat_vec, n rounded to f16 for the matrix units; few output tiles over a long K
 * split K as gemm does (gemm_splitk.ts: f32 partials, then the reduce applies the epilogue).
 * Everything else runs gemm_tiled, n kept in f32: one dispatch.
 */
export function normGemm(
  ctx: LaunchContext,
  tier: WebGpuTier,
  inputs: { a: Tensor; b: Tensor; c?: Tensor; bias?: Tensor },
  o: { transA: boolean; transB: boolean; alpha: number; beta: number },
  norm: NormOperand,
  yDtype: DType,
  shape: number[],
): Tensor {
  const { a, b, c, bias } = inputs;
  const { m, n, k } = gemmDims(a.shape, b.shape, o.transA, o.transB);
  const y = ctx.output({ dtype: yDtype, shape });
  if (m * n === 0) return y;
  const limit = windowLimit(ctx);
  for (const [name, t] of [['a', a], ['b', b], ['y', y], ['c', c]] as const) {
    if (t && t.size * BYTES[t.dtype] > limit) throw new LimitError(`[${ctx.rt.op ?? 'gemm'}] ${name}: ${t.size * BYTES[t.dtype]} bytes, over maxStorageBufferBindingSize (${ctx.limits.maxStorageBufferBindingSize}) of this device; the normalised gemm binds each operand whole`);
  }
  // K = 0 leaves a and b empty: 16 bytes are bound (as gemm does), never read.
  const whole = (t: Tensor, binding: number) => windowOf(ctx, t, binding, 0, Math.max(16 / BYTES[t.dtype], t.size));
  const w = { a: whole(a, 0), b: whole(b, 1), y: whole(y, 4), c: c ? whole(c, 2) : undefined, bias: bias ? windowOf(ctx, bias, 3, 0, n) : undefined };
  const rs = windowOf(ctx, norm.rs, 6, 0, Math.max(1, norm.rs.size));
  const g = windowOf(ctx, norm.g, 7, 0, norm.g.size);
  const params = ctx.output({ dtype: 'u32', shape: [4] });
  ctx.rt.upload(ctx.buffer(params), new Uint32Array(packParams(NORM_PARAMS, { rs_base: rs.base, g_base: g.base, thr: norm.thr, seed_mix: norm.seedMix })));
  const normBindings: Binding[] = [rs.b, g.b, { binding: 8, buffer: ctx.buffer(params), offset: 0, size: 16 }];
  const normDefines = { NORM_A: norm.which === 'a', NORM_B: norm.which === 'b' };
  const variant: GemmVariant = { yDtype, transA: o.transA, transB: o.transB, hasC: !!c, hasBias: !!bias };
  const gemmParams = (alpha: number, beta: number, kChunk: number, yBase: number) =>
    packParams(GEMM_PARAMS, gemmParamValues({ alpha, beta }, m, n, k, { ...w, y: { base: yBase } }, 0, 0, kChunk));
  const dispatch = (pipeline: PipelineSpec, bindings: Binding[], data: ArrayBuffer, bm: number, bn: number, gz: number) => {
    const gx = Math.ceil(n / bn);
    const gy = Math.ceil(m / bm);
    const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
    if (gx > maxGroups || gy > maxGroups) throw new LimitError(`[${ctx.rt.op ?? 'gemm'}] ${m}×${n} needs ${gx}×${gy} workgroups, over maxComputeWorkgroupsPerDimension (${maxGroups}) of this device`);
    ctx.rt.dispatch({ pipeline: { ...pipeline, defines: { ...pipeline.defines, ...normDefines } }, bindings: [...bindings, ...normBindings], params: { binding: 5, data }, workgroups: [gx, gy, gz] });
  };
  const sg = tier === 'subgroup-matrix' ? sgmatNormKernel(ctx, a.dtype, variant, m, n, k, { a: w.a.base, b: w.b.base, g: g.base }) : undefined;
  const plan = sg && tuning().gemm.splitK ? splitKPlan(m, n, k, sg.bm, sg.bn, limit) : undefined;
  if (sg && plan) {
    // The partial pass (f32, no epilogue) over the grid's z, then gemm's reduce.
    const part = ctx.rt.createBuffer(plan.splits * m * n * 4);
    try {
      const split = sgmatNormKernel(ctx, a.dtype, { ...variant, yDtype: 'f32', hasC: false, hasBias: false, splitK: true }, m, n, k, { a: w.a.base, b: w.b.base, g: g.base })!;
      dispatch(split.pipeline, [w.a.b, w.b.b, { binding: 4, buffer: part, offset: 0, size: plan.splits * m * n * 4 }], gemmParams(1, 0, plan.chunk, 0), sg.bm, sg.bn, plan.splits);
      const call: GemmCall = { ctx, tier, aDtype: a.dtype, variant, alpha: o.alpha, beta: o.beta };
      recordSplitKReduce(call, part, plan, { c, bias, y }, m, n);
    } finally {
      ctx.rt.releaseBuffer(part);
    }
  } else {
    const bindings: Binding[] = [w.a.b, w.b.b, w.y.b];
    if (w.c) bindings.push(w.c.b);
    if (w.bias) bindings.push(w.bias.b);
    if (sg) dispatch(sg.pipeline, bindings, gemmParams(o.alpha, o.beta, 0, w.y.base), sg.bm, sg.bn, 1);
    else {
      const config = tiledConfig(m, n);
      const vec = tuning().gemm.tiledVec && vecAligned(4, m, n, k, o.transA, o.transB, w.a.base, w.b.base);
      const t = TILED_CONFIGS[config];
      dispatch(gemmPipeline('portable', a.dtype, variant, { config, vec }), bindings, gemmParams(o.alpha, o.beta, 0, w.y.base), t.BM, t.BN, 1);
    }
  }
  params.dispose();
  return y;
}
