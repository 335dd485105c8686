import { BYTES } from '../../../dtype.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalConstant, MetalContext, MetalTier } from '../launch.js';
import { dtSuffix, rowThreads } from './common.js';
import { METAL3_GEMV, gemmKernel } from './gemm.js';
import { gemmTierOn } from './gemm_call.js';
import { metalDecodeFused } from './decode_fused.js';

/** msl/gemm/gemv_swiglu.metal's SwigluGemvParams, field for field. */
export const SWIGLU_GEMV_PARAMS = defineParams([
  ['t', 'u32'],
  ['k', 'u32'],
  ['i', 'u32'],
  ['norm_threads', 'u32'],
  ['chunk', 'u32'],
  ['eps', 'f32'],
]);

/**
 * The kernel's shape: tokens it takes (its GSW_MAX_T: gemv.metal's M range, so the fused
 * kernel covers every T at which the separate products are GEMVs), SIMD-groups a threadgroup
 * (one row of h each), columns of n staged a step (a multiple of 32 lanes × runs of 8) and
 * the threadgroup memory a chunk of n may take (the chunk grows in steps of 256 columns while
 * T·chunk elements fit; at least one step: 16 KiB at T = 16 in f32, Metal's limit is 32 KiB).
 */
export const SWIGLU_GEMV = { MAX_T: METAL3_GEMV.MAX_M, SGS: 8, STEP: 256, CHUNK_BYTES: 8192 } as const;

/**
 * Whether fused_mlp's gate/up pair of x [T, K] (or n, with the norm prologue) runs as one
 * gemv_swiglu.metal dispatch on `tier`: 1 ≤ T ≤ 16, no LoRA on gate or up, no empty weight, and
 * exactly where the separate plan's two products would run on gemv.metal (gemmOn's tier for
 * this K, then gemm's kernel choice at M = T: metal3 everywhere, metal4 where K is off its
 * 32-slices) — elsewhere the metal4 MPP products stay.
 */
export function mlpGemvFits(tier: MetalTier, t: number, i: Record<string, Tensor | undefined>): boolean {
  if (t < 1 || t > SWIGLU_GEMV.MAX_T || !metalDecodeFused('fused_mlp')) return false;
  if (i.gateA || i.gateB || i.upA || i.upB) return false;
  const wg = i.wGate!;
  if (wg.size === 0 || i.wUp!.size === 0) return false;
  const [inter, k] = wg.shape;
  const dt = wg.dtype;
  return gemmKernel(gemmTierOn(tier, k), dt, dt, false, true, t, inter).library === 'gemm/gemv.metal';
}

/** The NORM prologue of mlpGemv (fused_mlp's normWeight): γ [K], the residual [T, K] if any, eps. */
export interface GemvNorm {
  gamma: Tensor;
  residual?: Tensor;
  eps: number;
}

/** Columns of n a threadgroup stages at a time for T rows of `bytes`-byte elements, K columns in all. */
export function swigluGemvChunk(t: number, k: number, bytes: number): number {
  const { STEP, CHUNK_BYTES } = SWIGLU_GEMV;
  const steps = Math.max(1, Math.floor(CHUNK_BYTES / (t * STEP * bytes)));
  return Math.min(steps, Math.ceil(k / STEP)) * STEP;
}

/**
 * h = swiglu(x·W_gᵀ, x·W_uᵀ) [T, I] in one dispatch of gemv_swiglu.metal (the caller checked
 * mlpGemvFits): one SIMD-group per row of h (that row of W_g and of W_u), 8 a threadgroup; g
 * and u rounded as gemv.metal stores them, h as swiglu.metal does; with `keepGu` g and u are
 * stored too. With `norm` every threadgroup normalises the T rows itself (rms_norm's
 * arithmetic) and the dispatch also returns rstd [T] and, with a residual, the sum.
 */
export function mlpGemv(ctx: MetalContext, x: Tensor, wg: Tensor, wu: Tensor, keepGu: boolean, norm?: GemvNorm): { h: Tensor; g?: Tensor; u?: Tensor; sum?: Tensor; rstd?: Tensor } {
  const [t, k] = x.shape;
  const inter = wg.shape[0];
  const dt = x.dtype;
  const out = () => ctx.output({ dtype: dt, shape: [t, inter] });
  const h = out();
  const g = keepGu ? out() : undefined;
  const u = keepGu ? out() : undefined;
  const buffers = [
    { index: 0, tensor: x },
    { index: 1, tensor: wg },
    { index: 2, tensor: wu },
    { index: 3, tensor: h },
  ];
  if (g && u) buffers.push({ index: 5, tensor: g }, { index: 6, tensor: u });
  let rstd: Tensor | undefined;
  let sum: Tensor | undefined;
  let chunk = 0;
  if (norm) {
    rstd = ctx.output({ dtype: 'f32', shape: [t] });
    buffers.push({ index: 7, tensor: norm.gamma }, { index: 8, tensor: rstd });
    if (norm.residual) {
      sum = ctx.output({ dtype: dt, shape: [t, k] });
      buffers.push({ index: 9, tensor: norm.residual }, { index: 10, tensor: sum });
    }
    chunk = swigluGemvChunk(t, k, BYTES[dt]);
  }
  const constants: MetalConstant[] = [!!norm, !!norm?.residual, keepGu].map((value, index) => ({ index, type: 'bool', value }));
  const { SGS } = SWIGLU_GEMV;
  ctx.dispatch({
    library: 'gemm/gemv_swiglu.metal',
    fn: `gemv_swiglu_${dtSuffix(dt)}`,
    constants,
    buffers,
    bytes: [{ index: 4, data: packParams(SWIGLU_GEMV_PARAMS, { t, k, i: inter, norm_threads: rowThreads(k), chunk, eps: norm?.eps ?? 0 }) }],
    // n's chunk for the T rows (NORM); otherwise unused, the least Metal takes.
    threadgroupMemory: [{ index: 0, byteLength: norm ? t * chunk * BYTES[dt] : 16 }],
    grid: [Math.ceil(inter / SGS), 1, 1],
    threadgroup: [SGS * 32, 1, 1],
  });
  return { h, g, u, sum, rstd };
}
