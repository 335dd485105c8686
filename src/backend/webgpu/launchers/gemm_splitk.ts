import type { GemmDims } from '../../../ops/gemm/reference.js';
import type { Tensor } from '../../../tensor.js';
import { windowLimit, windowOf } from '../launch.js';
import { dtCode } from '../pipelines.js';
import { tuning } from '../tuning.js';
import { pickKernel, recordGemm, type GemmCall } from './gemm.js';
import { GEMM_PARAMS, gemmParamValues } from './gemm_params.js';
import { packParams } from '../../params.js';

/**
 * Split-K for products with few output tiles and a long reduction — LoRA's x·Aᵀ, dy·B,
 * dyᵀ·x and gᵀ·x at r = 16 (T×16 or 16×K outputs over K or T in the thousands), where one
 * workgroup per 128×256 tile leaves a GPU of ~132 multiprocessors with 8–64 workgroups each
 * walking all of K. Instead the grid's z runs over S chunks of K, each writing f32 partial
 * sums of the whole tile grid to scratch [S, M, N], and gemm_splitk_reduce.wgsl adds the S
 * partials in order and applies the epilogue (alpha, beta·C, bias, the rounding to y's
 * dtype) once. The error is one f32 sum over K in another order plus S−1 adds, inside the
 * gemm's bound (γ_K·S "any order, any blocking", spec.ts); the result is the same bits every
 * run. Only unbatched problems on the kernels that take a K range (gemm_tiled, gemm_sgmat_vec).
 */

/**
 * The split is chosen by a cost model of an H100 (WebGPU does not say how many
 * multiprocessors a device has; these are its figures, measured in run S7): workgroups run in
 * waves of SMS, each K step of a tile costs the same, and the split adds its partials'
 * traffic (written and read once, S·M·N·8 bytes at BYTES_PER_NS) and one more dispatch
 * (DISPATCH_NS). Measured there: prefill's 2048×2048×2048 projections — 128 tiles, one wave —
 * lost 5 ms in all to a split (three chunks: three waves of a third of K each, plus the
 * partials); LoRA's x·Aᵀ and dy·B — 16 to 64 tiles — gained 13–21%.
 */
const SMS = 132;
/** GPU ns per K step of one 128×256 tile at 210 TFLOP/s over 132 multiprocessors. */
const TILE_STEP_NS = (2 * 128 * 256) / (210e12 / SMS) * 1e9;
const BYTES_PER_NS = 2500;
const DISPATCH_NS = 8000;
/** A chunk is at least this many K steps, and a multiple of 32 (every kernel's slice depth and vector width divide it). */
const MIN_CHUNK = 256;
const MAX_SPLITS = 64;

/** The K chunk and chunk count for an unbatched m×n×k problem whose kernel tiles are bm×bn, or undefined (no split). */
export function splitKPlan(m: number, n: number, k: number, bm: number, bn: number, scratchLimit: number): { chunk: number; splits: number } | undefined {
  const tiles = Math.ceil(m / bm) * Math.ceil(n / bn);
  if (tiles === 0) return undefined;
  // Per K step, a bm×bn tile costs its share of a 128×256 one.
  const step = TILE_STEP_NS * ((bm * bn) / (128 * 256));
  const cost = (s: number, chunk: number) => Math.ceil((tiles * s) / SMS) * chunk * step + (s > 1 ? (s * m * n * 8) / BYTES_PER_NS + DISPATCH_NS : 0);
  let best: { chunk: number; splits: number } | undefined;
  let bestCost = cost(1, k);
  const most = Math.min(Math.floor(k / MIN_CHUNK), MAX_SPLITS, Math.floor(scratchLimit / (m * n * 4)));
  for (let want = 2; want <= most; want++) {
    const chunk = Math.ceil(k / want / 32) * 32;
    const s = Math.ceil(k / chunk);
    if (s < 2) continue;
    const c = cost(s, chunk);
    if (c < bestCost) {
      bestCost = c;
      best = { chunk, splits: s };
    }
  }
  return best;
}

/**
 * Records the split product if the problem qualifies (returns false otherwise, recording
 * nothing): the partial pass on the kernel pickKernel chooses for it, then the reduce.
 */
export function launchSplitK(call: GemmCall, t: { a: Tensor; b: Tensor; c?: Tensor; bias?: Tensor; y: Tensor }, d: GemmDims): boolean {
  const { ctx } = call;
  const { m, n, k } = d;
  // bf16 on the subgroup-matrix tier has its own windowed kernel (gemm_bf16.ts), no K range.
  if (!tuning().gemm.splitK || d.batch !== 1 || m * n === 0 || (call.aDtype === 'bf16' && call.tier === 'subgroup-matrix')) return false;
  const partCall: GemmCall = { ...call, variant: { ...call.variant, yDtype: 'f32', hasC: false, hasBias: false, splitK: true }, alpha: 1, beta: 0 };
  const aw = windowOf(ctx, t.a, 0, 0, m * k);
  const bw = windowOf(ctx, t.b, 1, 0, k * n);
  const pick = pickKernel(partCall, m, n, k, aw.base, bw.base);
  if (!/gemm_(tiled|sgmat_vec)\.wgsl$/.test(pick.pipeline.shader)) return false;
  const plan = splitKPlan(m, n, k, pick.bm, pick.bn, windowLimit(ctx));
  if (!plan) return false;
  const rt = ctx.rt;
  const part = rt.createBuffer(plan.splits * m * n * 4);
  try {
    const pw = { b: { binding: 4, buffer: part, offset: 0, size: plan.splits * m * n * 4 }, base: 0 };
    recordGemm(partCall, m, n, k, { a: aw, b: bw, y: pw }, plan.splits, 0, 0, plan.chunk);
    recordSplitKReduce(call, part, plan, t, m, n);
  } finally {
    rt.releaseBuffer(part);
  }
  return true;
}

/**
 * The split's second pass: gemm_splitk_reduce.wgsl adds the `plan.splits` f32 partials of
 * `part` ([S, M, N]) in order and applies the call's epilogue (alpha, beta·c, bias, the
 * rounding to y's dtype) into y (exported for norm_gemm.ts's split).
 */
export function recordSplitKReduce(call: GemmCall, part: GPUBuffer, plan: { chunk: number; splits: number }, t: { c?: Tensor; bias?: Tensor; y: Tensor }, m: number, n: number): void {
  const { ctx } = call;
  const rt = ctx.rt;
  const yw = windowOf(ctx, t.y, 4, 0, m * n);
  const cw = t.c ? windowOf(ctx, t.c, 2, 0, m * n) : undefined;
  const biasw = t.bias ? windowOf(ctx, t.bias, 3, 0, n) : undefined;
  const runs = Math.ceil((m * n) / 4 / 256);
  const gx = Math.min(runs, ctx.limits.maxComputeWorkgroupsPerDimension);
  const bindings = [{ binding: 0, buffer: part, offset: 0, size: plan.splits * m * n * 4 }, yw.b];
  if (cw) bindings.push(cw.b);
  if (biasw) bindings.push(biasw.b);
  rt.dispatch({
    pipeline: { shader: 'gemm/gemm_splitk_reduce.wgsl', defines: { Y_DT: dtCode(call.variant.yDtype), HAS_C: !!cw, HAS_BIAS: !!biasw } },
    bindings,
    params: {
      binding: 5,
      // The reduce's k is the chunk count: partial z starts at element z·m·n of the scratch.
      data: packParams(GEMM_PARAMS, gemmParamValues(call, m, n, plan.splits, { a: { base: 0 }, b: { base: 0 }, c: cw, bias: biasw, y: yw }, 0, 0, plan.chunk)),
    },
    workgroups: [gx, Math.ceil(runs / gx), 1],
  });
}
