import { envFlag } from '../../../env_flag.js';
import type { Tensor } from '../../../tensor.js';
import { packParams } from '../../params.js';
import { windowLimit, windowOf, type LaunchContext } from '../launch.js';
import { GEMM_GEMV_SWIGLU_PARAMS, gemmParamValues } from './gemm_params.js';
import { XWT_F16, sgmatVecKernel, sgmatVecWorkgroupBytes } from './gemm.js';
import { tuning } from '../tuning.js';

/** The second staging area GU adds to gemm_sgmat_vec's workgroup memory (8 f32 16×16 results). */
const GU_STAGE_BYTES = 8 * 256 * 4;

/**
 * PMETAL_MLP_GU=1 turns the gate/up pair on (off by default: fused_mlp records gate, up and
 * swiglu) until the H100 has checked and timed it (bench/device-s18-c.sh). What it saves, by
 * the count of work: the pair writes h only (g and u, 2·T·I values, are neither written nor
 * read back) and drops swiglu's dispatch — at the 1B prefill's shape (run S17 call B's
 * profile) swiglu's kernel alone was 2.1% of the forward.
 */
export const guEnabled = (): boolean => envFlag('fused_mlp', 'PMETAL_MLP_GU', false);

/**
 * Whether sgmatGu takes x [T, K] against W_g, W_u [I, K]: the subgroup-matrix tier's aligned
 * kernel applies to x·W_gᵀ (f16, 16-byte rows, bases on 8 halves), its tile plus the second
 * staging area fits the workgroup memory, each operand fits one binding, and the grid fits.
 */
export function sgmatGuFits(ctx: LaunchContext, x: Tensor, wg: Tensor, wu: Tensor): boolean {
  if (!guEnabled() || x.dtype !== 'f16' || wg.dtype !== 'f16' || wu.dtype !== 'f16') return false;
  const [t, k] = x.shape;
  // W_u's shape is W_g's (fused_mlp's check).
  const inter = wg.shape[0];
  if (t === 0 || inter === 0 || k === 0) return false;
  const pick = sgmatVecKernel(ctx, 'f16', XWT_F16, t, 2 * inter, k, 0, 0);
  if (!pick) return false;
  const { wideN, dbuf, shallowK } = tuning().gemm;
  if (sgmatVecWorkgroupBytes(wideN, false, true, dbuf, shallowK) + GU_STAGE_BYTES > ctx.limits.maxComputeWorkgroupStorageSize) return false;
  const limit = windowLimit(ctx);
  if (Math.max(t * k, inter * k, t * inter) * 2 > limit) return false;
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  return Math.ceil((2 * inter) / pick.bn) <= maxGroups && Math.ceil(t / pick.bm) <= maxGroups;
}

/**
 * h = silu(x·W_gᵀ)·(x·W_uᵀ) [T, I] in one gemm_sgmat_vec dispatch (GU): the pair is one
 * virtual B of 2·I columns, so a tile of BN columns covers BN/2 columns of h. The caller
 * checks sgmatGuFits first.
 */
export function sgmatGu(ctx: LaunchContext, x: Tensor, wg: Tensor, wu: Tensor): Tensor {
  const [m, k] = x.shape;
  const n = wg.shape[0];
  const h = ctx.output({ dtype: x.dtype, shape: [m, n] });
  const whole = (t: Tensor, binding: number) => windowOf(ctx, t, binding, 0, t.size);
  const w = { a: whole(x, 0), b: whole(wg, 1), y: whole(h, 4), b2: whole(wu, 11) };
  // The kernel reads 16-byte words from each operand's base: refuse a window that would not.
  if (w.a.base % 8 || w.b.base % 8 || w.b2.base % 8) throw new Error(`[fused_mlp] internal: gate/up windows start at elements ${w.a.base}, ${w.b.base}, ${w.b2.base}, not multiples of 8`);
  const pick = sgmatVecKernel(ctx, 'f16', XWT_F16, m, 2 * n, k, w.a.base, w.b.base)!;
  ctx.rt.dispatch({
    pipeline: { ...pick.pipeline, defines: { ...pick.pipeline.defines, GU: true } },
    bindings: [w.a.b, w.b.b, w.y.b, w.b2.b],
    params: {
      binding: 5,
      data: packParams(GEMM_GEMV_SWIGLU_PARAMS, { ...gemmParamValues({ alpha: 1, beta: 0 }, m, n, k, w, 0, 0, 0), b2_base: w.b2.base, g_base: 0, u_base: 0 }),
    },
    workgroups: [Math.ceil((2 * n) / pick.bn), Math.ceil(m / pick.bm), 1],
  });
  return h;
}
