import { BYTES } from '../../../dtype.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { windowLimit, windowOf, type LaunchContext } from '../launch.js';
import { GEMM_PARAMS, gemmParamValues, TILED_CONFIGS, gemmPipeline, tiledConfig } from './gemm.js';

/** SwigluParams in gemm/gemm_swiglu.wgsl (a storage buffer, bound at 8). */
export const SWIGLU_PARAMS = defineParams([
  ['b2_base', 'u32'],
  ['c2_base', 'u32'],
]);

/**
 * Whether swigluGemm can take x [T, K], W_g, W_u [I, K] and h [T, I]: one dispatch binds each
 * operand whole (as normGemm), so each must fit one binding, and the grid one dimension.
 */
export function swigluGemmFits(ctx: LaunchContext, t: number, inter: number, k: number, elem: number): boolean {
  const limit = windowLimit(ctx);
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  const bm = TILED_CONFIGS[tiledConfig(t, inter)].BM;
  return Math.max(t * k, inter * k, t * inter) * elem <= limit && Math.ceil(inter / bm) <= maxGroups && Math.ceil(t / bm) <= maxGroups;
}

/**
 * h = silu(x·W_gᵀ + c_g)·(x·W_uᵀ + c_u) in one gemm_tiled dispatch (SWIGLU): both products
 * share x's tiles and g, u stay in registers; c_g, c_u (optional, [T, I] in the dtype) are
 * the LoRA terms. The caller checks swigluGemmFits first.
 */
export function swigluGemm(ctx: LaunchContext, x: Tensor, wg: Tensor, wu: Tensor, cg: Tensor | undefined, cu: Tensor | undefined): Tensor {
  const [m, k] = x.shape;
  const n = wg.shape[0];
  const h = ctx.output({ dtype: x.dtype, shape: [m, n] });
  if (m * n === 0) return h;
  // K ≥ 1 (the op's check): every operand holds elements.
  const whole = (t: Tensor, binding: number) => windowOf(ctx, t, binding, 0, Math.max(16 / BYTES[t.dtype], t.size));
  const w = { a: whole(x, 0), b: whole(wg, 1), y: whole(h, 4), b2: whole(wu, 6), c: cg ? whole(cg, 2) : undefined, c2: cu ? whole(cu, 7) : undefined };
  const params = ctx.output({ dtype: 'u32', shape: [4] });
  ctx.rt.upload(ctx.buffer(params), new Uint32Array(packParams(SWIGLU_PARAMS, { b2_base: w.b2.base, c2_base: w.c2?.base ?? 0 })));
  const config = tiledConfig(m, n);
  const base = gemmPipeline('portable', x.dtype, { yDtype: x.dtype, transA: false, transB: true, hasC: !!cg, hasBias: false }, { config, vec: false });
  const pipeline = { ...base, defines: { ...base.defines, SWIGLU: true, HAS_C2: !!cu } };
  const bindings = [w.a.b, w.b.b, w.y.b, w.b2.b, { binding: 8, buffer: ctx.buffer(params), offset: 0, size: 16 }];
  if (w.c) bindings.push(w.c.b);
  if (w.c2) bindings.push(w.c2.b);
  ctx.rt.dispatch({
    pipeline,
    bindings,
    params: {
      binding: 5,
      data: packParams(GEMM_PARAMS, gemmParamValues({ alpha: 1, beta: 1 }, m, n, k, { a: w.a, b: w.b, c: w.c, y: w.y }, 0, 0, 0)),
    },
    workgroups: [Math.ceil(n / TILED_CONFIGS[config].BN), Math.ceil(m / TILED_CONFIGS[config].BM), 1],
  });
  params.dispose();
  return h;
}
