import { benchStage, launcherVariant } from '../tuning.js';
import { BYTES } from '../../../dtype.js';
import type { KvCopyDims } from '../../../ops/kv_cache_copy/dims.js';
import { rotaryDimOf, type RopeOpts } from '../../../ops/rope/options.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { NORM_QKV_CACHE_PARAMS, normQkvCacheValues, normQkvSegment } from '../../compose/norm_qkv_rows.js';
import { grid, windowLimit, windowOf, type LaunchContext } from '../launch.js';
import { dtCode } from '../pipelines.js';
import type { Binding } from '../runtime.js';
import { GEMV_TILE } from './gemm.js';
import { freqTable } from './rope_table.js';

/** gemm/gemv_norm_qkv.wgsl's Params (its struct, field by field). */
export const NORM_QKV_PARAMS = defineParams([
  ['nv', 'u32'],
  ['k', 'u32'],
  ['groups_x', 'u32'],
  ['eps', 'f32'],
  ['mscale', 'f32'],
  ['n_q', 'u32'],
  ['n_k', 'u32'],
  ['n_v', 'u32'],
  ['wg_q', 'u32'],
  ['wg_k', 'u32'],
  ['wg_v', 'u32'],
  ['rot_q', 'u32'],
  ['rot_k', 'u32'],
  ['hd_q', 'u32'],
  ['rd_q', 'u32'],
  ['pl_q', 'u32'],
  ['hd_k', 'u32'],
  ['rd_k', 'u32'],
  ['pl_k', 'u32'],
  ['hd_v', 'u32'],
  ['pl_v', 'u32'],
  ['half', 'u32'],
  ['neox', 'u32'],
  ...NORM_QKV_CACHE_PARAMS,
]);

/**
 * PMETAL_NORM_QKV_VARIANT (read at each launch, so `pmetal bench --variants` can switch it;
 * every variant is within the op's one bound):
 *   auto (default)   the one-dispatch GEMV (gemv_norm_qkv.wgsl) up to T = 4; at 4 < T ≤ 16
 *                    rms_norm first, then the same GEMV on its output (PRENORM: no phase 1, no
 *                    re-normalising) — 2 dispatches where the separate launches record 5 (and
 *                    kv_cache_copy a sixth): the GEMV's streaming is gemm's GEMV at those T, so
 *                    what goes is launches (not yet timed against `gemv4`);
 *   gemv4            the one-dispatch GEMV up to T = 4, the separate launches past it (the
 *                    default before run S16);
 *   gemv16           the GEMV up to T = 16. Each of its workgroups re-normalises all T·K values
 *                    of n (~15 ALU operations an element, rounding included) beside its 4·T·K
 *                    multiply-adds: on an H200 (run S10 call A) T = 16 took 0.082 ms at the 1B
 *                    shape and 0.278 at the 8B one, against 0.069 / 0.115 for the separate
 *                    launches, while T = 1 was the same under both GEMV variants;
 *   prenorm          rms_norm then the PRENORM GEMV at every T ≤ 16 (T = 1 included): each
 *                    workgroup skips the rstd phase — its reduction and barrier before the
 *                    weights are folded — for one more small dispatch (not yet timed);
 *   composed         always rms_norm, three gemms and rope (the separate ops' kernels).
 */
export const NORM_QKV_VARIANTS = ['auto', 'gemv4', 'gemv16', 'prenorm', 'composed'] as const;
export type NormQkvVariant = (typeof NORM_QKV_VARIANTS)[number];

export function normQkvVariant(v?: string): NormQkvVariant {
  return launcherVariant('fused_norm_qkv', 'PMETAL_NORM_QKV_VARIANT', NORM_QKV_VARIANTS, v);
}

/** Rows of one weight per workgroup (2 rope pairs). */
const ROWS = 4;
/** Workgroup bytes besides the reduction array: the 16 rstd values. */
const RSTD_BYTES = 64;

/** The head layout of a call with rope: heads of q and k, head dim, rotary dim, style. */
export interface NormQkvRope {
  hq: number;
  hkv: number;
  d: number;
  o: RopeOpts;
}

/** Storage bindings the kernel takes for these inputs (≤ 15: under the 16 Dawn offers on lavapipe and NVIDIA; PRENORM inputs have no gamma). */
function storageBindings(i: Record<string, Tensor | undefined>): number {
  return 7 + (i.gamma ? 1 : 0) + (i.residual ? 2 : 0) + (['bq', 'bk', 'bv'] as const).filter((b) => i[b]).length + (i.positions ? 2 : 0);
}

/** Storage bindings a cache write adds: kCache, vCache, cachePositions, and a paged cache's table. */
const cacheBindings = (dm: KvCopyDims) => 3 + (dm.paged ? 1 : 0);

/**
 * Whether the GEMV (normQkvPlan chose it) can also write the caches in its epilogue:
 * the extra bindings within the adapter's storage-binding limit, and each cache bound whole
 * within one binding. Otherwise the launcher writes them with one kv_cache_copy launch.
 */
export function normQkvCacheFits(ctx: LaunchContext, i: Record<string, Tensor>, dm: KvCopyDims): boolean {
  if (storageBindings(i) + cacheBindings(dm) > ctx.limits.maxStorageBuffersPerShaderStage) return false;
  const lim = windowLimit(ctx);
  return i.kCache.size * BYTES[i.kCache.dtype] <= lim && i.vCache.size * BYTES[i.vCache.dtype] <= lim;
}

/**
 * PMETAL_NORM_QKV_WG=256|128 pins the GEMV's workgroup size (bench --variants; both correct).
 * 128 by default since run S17, as gemm's GEMV family since run S9: on the H100 fused_mlp's
 * gate/up GEMV at the 1B shape (T 1, K 2048 — this kernel's K there) took 0.0588 ms with 128
 * invocations against 0.0760 with 256 (fewer registers a workgroup: more of the grid resident at
 * once). Not yet timed for this kernel itself (bench/device-s18-a.sh).
 */
export function normQkvWgPin(): 256 | 128 | undefined {
  const v = launcherVariant('fused_norm_qkv', 'PMETAL_NORM_QKV_WG', ['auto', '256', '128'] as const);
  return v === 'auto' ? undefined : v === '256' ? 256 : 128;
}

/** bench's stage switch of gemv_norm_qkv.wgsl (PMETAL_BENCH_NORM_QKV_STAGE, 1–4; 0 = the kernel). Wrong results otherwise. */
export const normQkvStage = (): number => benchStage('PMETAL_BENCH_NORM_QKV_STAGE', [1, 2, 3, 4]);

/**
 * The workgroup size the GEMV takes here (128; the pin first where it fits), or undefined.
 * Its workgroup memory: the reduction array, 4·WG vec4s (64·WG bytes: 16 KiB at 256, all of
 * WebGPU's default limit, so 256 needs an adapter offering more), and the rstd array.
 */
export function gemvWg(ctx: Pick<LaunchContext, 'limits'>): number | undefined {
  const pin = normQkvWgPin();
  for (const wg of pin ? [pin, 128] : [128]) {
    if (64 * wg + RSTD_BYTES <= ctx.limits.maxComputeWorkgroupStorageSize && wg <= ctx.limits.maxComputeInvocationsPerWorkgroup) return wg;
  }
  return undefined;
}

/** How the op runs: the normalising GEMV, rms_norm then the PRENORM GEMV, or the separate ops' launches. */
export type NormQkvPlan = 'gemv' | 'norm-gemv' | 'composed';

/**
 * The plan of a call: the GEMV for 1 ≤ T ≤ 4 (16 with the gemv16 variant), rms_norm + the
 * PRENORM GEMV for 4 < T ≤ 16 under `auto`, where the GEMV fits: no empty weight, K a whole
 * number of 16-byte words (every binding is a whole tensor from element 0, so rows then start
 * on words), each tensor within one binding, the kernel's storage bindings within the
 * adapter's limit, and its workgroups within the grid; else the separate launches.
 */
export function normQkvPlan(ctx: LaunchContext, i: Record<string, Tensor>): NormQkvPlan {
  const variant = normQkvVariant();
  if (variant === 'composed') return 'composed';
  const [t, k] = i.x.shape;
  const gemvMax = variant === 'gemv16' ? GEMV_TILE.MAX_M : 4;
  const max = variant === 'auto' || variant === 'prenorm' ? GEMV_TILE.MAX_M : gemvMax;
  if (t < 1 || t > max) return 'composed';
  const e = BYTES[i.x.dtype];
  if ((k * e) % 16 !== 0) return 'composed';
  const n = i.wq.shape[0] + i.wk.shape[0] + i.wv.shape[0];
  // An empty weight (N = 0, valid: an empty output) would be a zero-size binding.
  if (Math.min(i.wq.shape[0], i.wk.shape[0], i.wv.shape[0]) === 0) return 'composed';
  if (Math.max(t * k, i.wq.shape[0] * k, i.wk.shape[0] * k, i.wv.shape[0] * k) * e > windowLimit(ctx)) return 'composed';
  if (storageBindings(i) > ctx.limits.maxStorageBuffersPerShaderStage) return 'composed';
  if (gemvWg(ctx) === undefined) return 'composed';
  // At most one workgroup per 4 rows plus the rope's partial last pair of each head segment.
  if (Math.ceil(n / ROWS) + 2 > ctx.limits.maxComputeWorkgroupsPerDimension ** 2) return 'composed';
  return t <= gemvMax && variant !== 'prenorm' ? 'gemv' : 'norm-gemv';
}

/** One segment's row map (the kernel's header): workgroups, rotated workgroups, (hd, rd, pl). */
function segment(n: number, heads: number | undefined, r: NormQkvRope | undefined) {
  const s = normQkvSegment(n, ROWS, r && heads !== undefined ? { heads, d: r.d, rd: rotaryDimOf(r.o, r.d) } : undefined);
  return { ...s, wg: s.groups };
}

/**
 * q, k, v (and residualOut) in one dispatch of gemv_norm_qkv.wgsl (the caller checked
 * normQkvPlan): Nq/4 + Nk/4 + Nv/4 workgroups (rope pairs kept together), each normalising the
 * T rows itself — or, given no gamma (PRENORM), folding x as n (rms_norm's output).
 */
export function normQkvGemv(ctx: LaunchContext, i: Record<string, Tensor>, eps: number, r: NormQkvRope | undefined, cache?: KvCopyDims): { q: Tensor; k: Tensor; v: Tensor; residualOut?: Tensor } {
  const x = i.x;
  const [t, k] = x.shape;
  const dt = x.dtype;
  const epv = 16 / BYTES[dt];
  const nq = i.wq.shape[0];
  const nk = i.wk.shape[0];
  const nv = i.wv.shape[0];
  const q = ctx.output({ dtype: dt, shape: [t, nq] });
  const kk = ctx.output({ dtype: dt, shape: [t, nk] });
  const v = ctx.output({ dtype: dt, shape: [t, nv] });
  const ro = i.residual ? ctx.output({ dtype: dt, shape: [t, k] }) : undefined;
  const whole = (tt: Tensor, binding: number): Binding => {
    const w = windowOf(ctx, tt, binding, 0, tt.size);
    if (w.base !== 0) throw new Error(`[fused_norm_qkv] internal: window of binding ${binding} starts at element ${w.base}, not 0`);
    return w.b;
  };
  const prenorm = !i.gamma;
  const bindings: Binding[] = [whole(x, 0), whole(i.wq, 2), whole(i.wk, 3), whole(i.wv, 4), whole(q, 6), whole(kk, 7), whole(v, 8)];
  if (!prenorm) bindings.push(whole(i.gamma, 1));
  if (i.residual && ro) bindings.push(whole(i.residual, 9), whole(ro, 10));
  (['bq', 'bk', 'bv'] as const).forEach((b, j) => {
    if (i[b]) bindings.push(whole(i[b], 11 + j));
  });
  let mscale = 1;
  let half = 1;
  if (r && i.positions) {
    const rd = rotaryDimOf(r.o, r.d);
    const table = freqTable(ctx, r.o, rd);
    mscale = table.attention;
    half = rd / 2;
    bindings.push(whole(i.positions, 14), { binding: 15, buffer: table.buffer, offset: 0, size: half * 4 });
  }
  if (cache) {
    bindings.push(whole(i.kCache, 16), whole(i.vCache, 17), whole(i.cachePositions, 18));
    if (cache.paged) bindings.push(whole(i.blockTable, 19));
  }
  const sq = segment(nq, r?.hq, r);
  const sk = segment(nk, r?.hkv, r);
  const sv = segment(nv, undefined, undefined);
  const g = grid(ctx, sq.wg + sk.wg + sv.wg);
  const wg = gemvWg(ctx)!;
  ctx.rt.dispatch({
    pipeline: {
      shader: 'gemm/gemv_norm_qkv.wgsl',
      defines: {
        X_DT: dtCode(dt),
        MT: t,
        WG: wg,
        HAS_RES: !!i.residual,
        HAS_BQ: !!i.bq,
        HAS_BK: !!i.bk,
        HAS_BV: !!i.bv,
        ROPE: !!r,
        PRENORM: prenorm,
        STAGE: normQkvStage(),
        ...(cache ? { CACHE: true, C_DT: dtCode(i.kCache.dtype), PAGED: cache.paged } : {}),
      },
    },
    bindings,
    params: {
      binding: 5,
      data: packParams(NORM_QKV_PARAMS, {
        nv: k / epv,
        k,
        groups_x: g.groupsX,
        eps,
        mscale,
        n_q: nq,
        n_k: nk,
        n_v: nv,
        wg_q: sq.wg,
        wg_k: sk.wg,
        wg_v: sv.wg,
        rot_q: sq.rot,
        rot_k: sk.rot,
        hd_q: sq.hd,
        rd_q: sq.rd,
        pl_q: sq.pl,
        hd_k: sk.hd,
        rd_k: sk.rd,
        pl_k: sk.pl,
        hd_v: sv.hd,
        pl_v: sv.pl,
        half,
        neox: r ? Number(r.o.style === 'neox') : 1,
        ...normQkvCacheValues(cache),
      }),
    },
    workgroups: g.workgroups,
  });
  return { q, k: kk, v, ...(ro ? { residualOut: ro } : {}) };
}
