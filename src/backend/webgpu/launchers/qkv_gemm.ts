import { envFlag } from '../../../env_flag.js';
import type { Tensor } from '../../../tensor.js';
import { packParams } from '../../params.js';
import { windowLimit, windowOf, type LaunchContext } from '../launch.js';
import { GEMM_QKV_PARAMS, gemmParamValues } from './gemm_params.js';
import { XWT_F16, sgmatVecKernel } from './gemm.js';

/**
 * PMETAL_QKV_GEMM=1 takes fused_norm_qkv's three projections in one gemm_sgmat_vec dispatch
 * (QKV) on the subgroup-matrix tier. Opt-in until the H100 has checked and timed it
 * (bench/device-s18-b.sh): at the 1B prefill's shape the three gemms and the two split-K
 * reductions W_k's and W_v's narrow outputs take were 11.1% + 1.3% of the forward in run S17
 * call B's profile, for 412 GFLOP (~115 TFLOP/s where the MLP's gemms ran at ~194).
 */
export const qkvGemmEnabled = (): boolean => envFlag('fused_norm_qkv', 'PMETAL_QKV_GEMM', false);

/**
 * Whether qkvGemm takes n [T, K] against W_q, W_k, W_v: f16 throughout, no biases,
 * gemm_sgmat_vec's aligned kernel for the virtual [T, N_q + N_k + N_v] product, N_q and N_k multiples of its tile width (each tile within one
 * weight), every operand within one binding, 7 storage bindings, the grid within limits.
 */
export function qkvGemmFits(ctx: LaunchContext, n: Tensor, i: Record<string, Tensor | undefined>): boolean {
  if (!qkvGemmEnabled() || i.bq || i.bk || i.bv) return false;
  const ws = [i.wq, i.wk, i.wv];
  if (n.dtype !== 'f16' || ws.some((w) => !w || w.dtype !== 'f16' || w.shape[0] === 0)) return false;
  const [t, k] = n.shape;
  const [nq, nk, nv] = ws.map((w) => w!.shape[0]);
  const pick = sgmatVecKernel(ctx, 'f16', XWT_F16, t, nq + nk + nv, k, 0, 0);
  if (!pick || nq % pick.bn !== 0 || nk % pick.bn !== 0) return false;
  if (ctx.limits.maxStorageBuffersPerShaderStage < 7) return false;
  if (Math.max(t * k, t * Math.max(nq, nk, nv), ...ws.map((w) => w!.size)) * 2 > windowLimit(ctx)) return false;
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  return Math.ceil((nq + nk + nv) / pick.bn) <= maxGroups && Math.ceil(t / pick.bm) <= maxGroups;
}

/** q, k, v = n·W_qᵀ, n·W_kᵀ, n·W_vᵀ in one dispatch (the caller checked qkvGemmFits). */
export function qkvGemm(ctx: LaunchContext, n: Tensor, wq: Tensor, wk: Tensor, wv: Tensor): { q: Tensor; k: Tensor; v: Tensor } {
  const [t, kd] = n.shape;
  const [nq, nk, nv] = [wq.shape[0], wk.shape[0], wv.shape[0]];
  const q = ctx.output({ dtype: n.dtype, shape: [t, nq] });
  const k = ctx.output({ dtype: n.dtype, shape: [t, nk] });
  const v = ctx.output({ dtype: n.dtype, shape: [t, nv] });
  if (t === 0) return { q, k, v };
  const whole = (x: Tensor, binding: number) => windowOf(ctx, x, binding, 0, x.size);
  const w = { a: whole(n, 0), b: whole(wq, 1), b2: whole(wk, 11), b3: whole(wv, 12), y: whole(q, 4), y2: whole(k, 13), y3: whole(v, 14) };
  // gemm_sgmat_vec reads 16-byte words from each operand's base.
  if ([w.a, w.b, w.b2, w.b3].some((x) => x.base % 8)) throw new Error('[fused_norm_qkv] internal: a q/k/v operand window does not start on 8 halves');
  const pick = sgmatVecKernel(ctx, 'f16', XWT_F16, t, nq + nk + nv, kd, w.a.base, w.b.base)!;
  ctx.rt.dispatch({
    pipeline: { ...pick.pipeline, defines: { ...pick.pipeline.defines, QKV: true } },
    bindings: [w.a.b, w.b.b, w.b2.b, w.b3.b, w.y.b, w.y2.b, w.y3.b],
    params: {
      binding: 5,
      data: packParams(GEMM_QKV_PARAMS, {
        ...gemmParamValues({ alpha: 1, beta: 0 }, t, nq + nk + nv, kd, w, 0, 0, 0),
        n_k0: nq,
        n_v0: nq + nk,
        b2_base: w.b2.base,
        b3_base: w.b3.base,
        y2_base: w.y2.base,
        y3_base: w.y3.base,
      }),
    },
    workgroups: [Math.ceil((nq + nk + nv) / pick.bn), Math.ceil(t / pick.bm), 1],
  });
  return { q, k, v };
}
