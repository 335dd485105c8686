import { BYTES, type DType } from '../../../dtype.js';
import type { Tensor } from '../../../tensor.js';
import { packParams } from '../../params.js';
import { windowLimit, windowOf, type LaunchContext, type WebGpuTier } from '../launch.js';
import { tuning } from '../tuning.js';
import { GEMV_TILE, gemmPipeline, vecAligned } from './gemm.js';
import { GEMM_GEMV_NORM_PARAMS, GEMM_GEMV_SWIGLU_PARAMS, gemmParamValues } from './gemm_params.js';

/** Columns of h per workgroup of the SWIGLU_ROWS kernel (its 4 weight rows: 2 of W_g, 2 of W_u). */
export const MLP_GEMV_COLS = 2;

/**
 * Whether fused_mlp's gate/up pair of x [T, K] against W_g, W_u [I, K] runs as one
 * gemm_gemv_rows SWIGLU_ROWS dispatch: decode sizes (1 ≤ T ≤ 16, gemm's GEMV range), rows of
 * whole 16-byte words (x, W_g, W_u start on a word and K is a multiple of one), every operand
 * in one binding, I/2 workgroups within the grid, and PMETAL_MLP_GEMV not 0. Elsewhere the
 * launcher keeps its other plans.
 */
export function mlpGemvFits(ctx: LaunchContext, x: Tensor, wg: Tensor, wu: Tensor): boolean {
  const [t, k] = x.shape;
  const inter = wg.shape[0];
  if (!tuning().mlpGemv || t < 1 || t > GEMV_TILE.MAX_M) return false;
  const e = BYTES[x.dtype];
  if (Math.max(t * k, inter * k, t * inter) * e > windowLimit(ctx)) return false;
  if (Math.ceil(inter / MLP_GEMV_COLS) > ctx.limits.maxComputeWorkgroupsPerDimension) return false;
  const base = (v: Tensor, binding: number) => windowOf(ctx, v, binding, 0, v.size).base;
  const epv = 16 / e;
  return vecAligned(epv, t, inter, k, false, true, base(x, 0), base(wg, 1)) && base(wu, 6) % epv === 0;
}

/**
 * The NORM prologue of mlpGemv (fused_mlp's normWeight): γ [K], the residual [T, K] if any,
 * eps; the dispatch also writes the sum x + residual (with a residual) and rstd [T].
 */
export interface GemvNorm {
  gamma: Tensor;
  residual?: Tensor;
  eps: number;
}

/**
 * Whether the NORM prologue can join mlpGemv's dispatch (mlpGemvFits holds for x): γ and the
 * residual start on a 16-byte word, and the storage bindings — a, W_g, h, W_u, (g, u), γ,
 * rstd, (residual, sum) — are within the adapter's per-stage limit (8 by WebGPU's default:
 * a residual with recompute = false needs 10).
 */
export function mlpGemvNormFits(ctx: LaunchContext, x: Tensor, norm: GemvNorm, keepGu: boolean): boolean {
  const epv = 16 / BYTES[x.dtype];
  const aligned = (v: Tensor, binding: number) => windowOf(ctx, v, binding, 0, v.size).base % epv === 0;
  if (!aligned(norm.gamma, 2) || (norm.residual && !aligned(norm.residual, 9))) return false;
  const storage = 4 + (keepGu ? 2 : 0) + 2 + (norm.residual ? 2 : 0);
  return storage <= ctx.limits.maxStorageBuffersPerShaderStage;
}

/**
 * h = silu(x·W_gᵀ)·(x·W_uᵀ) [T, I] in one dispatch (the caller checked mlpGemvFits): each
 * workgroup reads rows c, c+1 of W_g and of W_u once, in 16-byte words, and keeps g and u
 * in f32 registers; with `keepGu` the same dispatch also writes g and u in x's dtype
 * (fused_mlp's recompute = false). The GEMV's workgroup size follows PMETAL_GEMV_VARIANT
 * (rows128: 128, else 256).
 */
export function mlpGemv(
  ctx: LaunchContext,
  tier: WebGpuTier,
  x: Tensor,
  wg: Tensor,
  wu: Tensor,
  keepGu: boolean,
  norm?: GemvNorm,
): { h: Tensor; g?: Tensor; u?: Tensor; sum?: Tensor; rstd?: Tensor } {
  const [t, k] = x.shape;
  const inter = wg.shape[0];
  const dt: DType = x.dtype;
  const out = () => ctx.output({ dtype: dt, shape: [t, inter] });
  const h = out();
  const g = keepGu ? out() : undefined;
  const u = keepGu ? out() : undefined;
  const whole = (v: Tensor, binding: number) => windowOf(ctx, v, binding, 0, v.size);
  const w = { a: whole(x, 0), b: whole(wg, 1), b2: whole(wu, 6), y: whole(h, 4), g: g && whole(g, 7), u: u && whole(u, 8) };
  const base = gemmPipeline(tier, dt, { yDtype: dt, transA: false, transB: true, hasC: false, hasBias: false }, { kernel: 'gemv_rows', rows: t, wg: tuning().gemvVariant === 'rows128' ? 128 : 256 });
  const bindings = [w.a.b, w.b.b, w.y.b, w.b2.b];
  if (w.g && w.u) bindings.push(w.g.b, w.u.b);
  const values = {
    ...gemmParamValues({ alpha: 1, beta: 0 }, t, inter, k, w, 0, 0, 0),
    b2_base: w.b2.base,
    g_base: w.g?.base ?? 0,
    u_base: w.u?.base ?? 0,
  };
  let data: ArrayBuffer;
  let sum: Tensor | undefined;
  let rstd: Tensor | undefined;
  if (norm) {
    // The prologue's tensors: γ (2), rstd (3), the residual (9) and the sum (10).
    rstd = ctx.output({ dtype: 'f32', shape: [t] });
    const gw = whole(norm.gamma, 2);
    const rw = whole(rstd, 3);
    bindings.push(gw.b, rw.b);
    let resBase = 0;
    let sumBase = 0;
    if (norm.residual) {
      sum = ctx.output({ dtype: dt, shape: [t, k] });
      const res = whole(norm.residual, 9);
      const sw = whole(sum, 10);
      bindings.push(res.b, sw.b);
      resBase = res.base;
      sumBase = sw.base;
    }
    data = packParams(GEMM_GEMV_NORM_PARAMS, { ...values, gam_base: gw.base, res_base: resBase, sum_base: sumBase, rstd_base: rw.base, eps: norm.eps });
  } else {
    data = packParams(GEMM_GEMV_SWIGLU_PARAMS, values);
  }
  ctx.rt.dispatch({
    pipeline: { ...base, defines: { ...base.defines, SWIGLU_ROWS: true, WRITE_GU: keepGu, ...(norm ? { NORM: true, NORM_RES: !!norm.residual } : {}) } },
    bindings,
    params: { binding: 5, data },
    workgroups: [Math.ceil(inter / MLP_GEMV_COLS), 1, 1],
  });
  return { h, g, u, sum, rstd };
}
