import { BYTES, type DType } from '../../../dtype.js';
import { LimitError } from '../../../errors.js';
import { gemmDims } from '../../../ops/gemm/dims.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { windowLimit, windowOf, type LaunchContext } from '../launch.js';
import { tuning } from '../tuning.js';
import { GEMM_PARAMS, TILED_CONFIGS, gemmPipeline, tiledConfig, vecAligned } from './gemm.js';

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

/**
 * y = alpha·op(a)·op(b) (+ beta·c + bias) with one operand normalised as gemm_tiled fetches
 * it (NORM_A / NORM_B): one dispatch, no batch, every operand within one binding (the
 * normalised operand's row and column index the mask, so it is never split; a LimitError
 * names the limit otherwise).
 */
export function normGemm(
  ctx: LaunchContext,
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
  const config = tiledConfig(m, n);
  const vec = tuning().gemm.tiledVec && vecAligned(4, m, n, k, o.transA, o.transB, w.a.base, w.b.base);
  const base = gemmPipeline('portable', a.dtype, { yDtype, transA: o.transA, transB: o.transB, hasC: !!c, hasBias: !!bias }, { config, vec });
  const pipeline = { ...base, defines: { ...base.defines, NORM_A: norm.which === 'a', NORM_B: norm.which === 'b' } };
  const gx = Math.ceil(n / TILED_CONFIGS[config].BN);
  const gy = Math.ceil(m / TILED_CONFIGS[config].BM);
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (gx > maxGroups || gy > maxGroups) throw new LimitError(`[${ctx.rt.op ?? 'gemm'}] ${m}×${n} needs ${gx}×${gy} workgroups, over maxComputeWorkgroupsPerDimension (${maxGroups}) of this device`);
  const bindings = [w.a.b, w.b.b, w.y.b, rs.b, g.b, { binding: 8, buffer: ctx.buffer(params), offset: 0, size: 16 }];
  if (w.c) bindings.push(w.c.b);
  if (w.bias) bindings.push(w.bias.b);
  ctx.rt.dispatch({
    pipeline,
    bindings,
    params: {
      binding: 5,
      data: packParams(GEMM_PARAMS, { m, n, k, a_base: w.a.base, b_base: w.b.base, c_base: w.c?.base ?? 0, bias_base: w.bias?.base ?? 0, y_base: w.y.base, a_bstride: 0, b_bstride: 0, alpha: o.alpha, beta: o.beta, k_chunk: 0 }),
    },
    workgroups: [gx, gy, 1],
  });
  params.dispose();
  return y;
}
