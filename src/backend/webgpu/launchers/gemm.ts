import { BYTES, type DType } from '../../../dtype.js';
import { gemmDims } from '../../../ops/gemm/dims.js';
import type { Tensor } from '../../../tensor.js';
import { packParams } from '../../params.js';
import type { PipelineSpec } from '../pipelines.js';
import { dtCode } from '../pipelines.js';
import { rowChunks, windowLimit, windowOf, type AdapterTraits, type LaunchContext, type Launcher, type WebGpuTier } from '../launch.js';
import { benchStage, tuning } from '../tuning.js';
import { pickSgmatKernel, type SgmatChoice, type SgmatConfig } from '../sgmat_configs.js';
import type { Binding } from '../runtime.js';
import { LimitError, TierUnavailableError } from '../../../errors.js';
import { launchSplit } from './gemm_split.js';
import { launchSplitK } from './gemm_splitk.js';
import { bf16MmaWindow, recordGemmBf16 } from './gemm_bf16.js';
import { GEMM_PARAMS, gemmParamValues } from './gemm_params.js';

export { GEMM_PARAMS, gemmParamValues } from './gemm_params.js';

/**
 * Tile shapes (mirrored by the constants in the .wgsl files; the pipeline key names the
 * switch). The SIMT kernel (gemm_tiled) runs 16×16 invocations: 64×64 tiles with 4×4
 * micro-tiles for small or skinny problems (LARGE_TILE=0), 128×128 with 2×2 blocks of 4×4
 * where both M and N exceed 64 (LARGE_TILE=1: twice the reuse of every loaded value).
 */
export const TILED_CONFIGS = {
  small: { LARGE_TILE: 0, BM: 64, BN: 64 },
  large: { LARGE_TILE: 1, BM: 128, BN: 128 },
} as const;
/**
 * Subgroup-matrix kernels. gemm_sgmat (any alignment): 128×128 tiles, a 2×4 grid of
 * subgroups each owning 4×2 16×16 results; WIDE_SMEM=1 (32-deep padded slices) needs more
 * than WebGPU's default 16 KiB of workgroup memory, WIDE_SMEM=0 (16-deep, unpadded) fits in
 * it. gemm_sgmat_vec (operands aligned to 8 halves, subgroups of 32): 128×128 or, with
 * WIDE_N, 128×256 tiles (4×4 results per subgroup), 16-byte global reads, register prefetch.
 */
export const SGMAT_TILE = { BM: 128, BN: 128 } as const;
export const SGMAT_VEC_TILES = { narrow: { WIDE_N: 0, BM: 128, BN: 128 }, wide: { WIDE_N: 1, BM: 128, BN: 256 } } as const;
/** Small-M kernel (gemm_gemv): rows and columns of y per workgroup, and the largest M it takes. */
export const GEMV_TILE = { BM: 8, BN: 8, MAX_M: 16 } as const;
/**
 * gemm_gemv_rows' workgroup per PMETAL_GEMV_VARIANT: invocations, and teams of them each owning
 * 4 columns of y (teams2 / teams4: 8 / 16 columns a workgroup, a's words read from L1 by
 * every team).
 */
export const GEMV_ROWS_SHAPES = { rows128: { wg: 128, teams: 1 }, rows: { wg: 256, teams: 1 }, teams2: { wg: 256, teams: 2 }, teams4: { wg: 256, teams: 4 } } as const;
/** gemm_gemv_rows: all M rows and 4 columns of y per team. */
export const GEMV_ROWS_BN = 4;

/** Workgroup bytes of gemm_sgmat.wgsl (mirrors its constants: f16 slices + 8 f32 16×16 stages). */
export function sgmatWorkgroupBytes(wide: boolean, transA: boolean, transB: boolean): number {
  const [bk, pad] = wide ? [32, 8] : [16, 0];
  const a = transA ? bk * (SGMAT_TILE.BM + pad) : SGMAT_TILE.BM * (bk + pad);
  const b = transB ? SGMAT_TILE.BN * (bk + pad) : bk * (SGMAT_TILE.BN + pad);
  return 2 * (a + b) + 8 * 256 * 4;
}

/**
 * Workgroup bytes of gemm_sgmat_vec.wgsl (32- or 16-deep slices padded by 8 halves, twice
 * with dbuf, + the stages).
 */
export function sgmatVecWorkgroupBytes(wideN: boolean, transA: boolean, transB: boolean, dbuf = false, shallowK = false): number {
  const stages = 8 * 256 * 4;
  const bm = 128;
  const bn = wideN ? 256 : 128;
  const bk = shallowK ? 16 : 32;
  const a = transA ? bk * (bm + 8) : bm * (bk + 8);
  const b = transB ? bn * (bk + 8) : bk * (bn + 8);
  return (dbuf ? 2 : 1) * 2 * (a + b) + stages;
}

export interface GemmVariant {
  yDtype: DType;
  transA: boolean;
  transB: boolean;
  hasC: boolean;
  hasBias: boolean;
  /** Each batch z of the grid sums K chunk z into f32 partials (gemm_tiled and gemm_sgmat_vec only; gemm_splitk.ts). */
  splitK?: boolean;
}

/** y = x·Wᵀ in f16, W stored [N, K], no C or bias: the variant of fused ops' products on gemm_sgmat_vec (gu_gemm.ts, qkv_gemm.ts). */
export const XWT_F16: GemmVariant = { yDtype: 'f16', transA: false, transB: true, hasC: false, hasBias: false };

export function tiledConfig(m: number, n: number): keyof typeof TILED_CONFIGS {
  return m > 64 && n > 64 ? 'large' : 'small';
}

export type GemmKernel = 'tiled' | 'sgmat' | 'sgmat8' | 'sgmat_vec' | 'gemv' | 'gemv_rows';

export interface GemmPipelineOptions {
  /** Which kernel (default: gemm_sgmat on the subgroup-matrix tier, gemm_tiled otherwise). */
  kernel?: GemmKernel;
  config?: keyof typeof TILED_CONFIGS;
  sgSize?: number;
  /** gemm_sgmat: 32-deep padded slices. */
  wide?: boolean;
  /** gemm_sgmat_vec: 128×256 tiles. */
  wideN?: boolean;
  /** gemm_sgmat_vec: 16-deep K slices. */
  shallowK?: boolean;
  /** gemm_sgmat_vec: double-buffered slices (one barrier per slice). */
  dbuf?: boolean;
  /** gemm_tiled / gemm_gemv: vector reads of a and b (the launcher checks the alignment). */
  vec?: boolean;
  /** gemm_gemv_rows: M (1…16; the kernel is specialised on it), the workgroup size (256 or 128) and its teams (1, 2, 4; teams·64 ≤ wg). */
  rows?: number;
  wg?: number;
  teams?: number;
}

/** The pipeline a tier runs for a variant (exported so the tests can preprocess every one). */
export function gemmPipeline(tier: WebGpuTier, aDtype: DType, v: GemmVariant, opts: GemmPipelineOptions = {}): PipelineSpec {
  const common = { A_DT: dtCode(aDtype), Y_DT: dtCode(v.yDtype), TRANS_A: v.transA, TRANS_B: v.transB, HAS_C: v.hasC, HAS_BIAS: v.hasBias, ...(v.splitK ? { SPLIT_K: true } : {}) };
  const kernel = opts.kernel ?? (tier === 'subgroup-matrix' ? 'sgmat' : 'tiled');
  switch (kernel) {
    case 'sgmat':
      return { shader: 'gemm/gemm_sgmat.wgsl', defines: { ...common, WIDE_SMEM: opts.wide ?? true }, overrides: { SG_SIZE: opts.sgSize ?? 32 } };
    case 'sgmat8':
      return { shader: 'gemm/gemm_sgmat8.wgsl', defines: common, overrides: { SG_SIZE: opts.sgSize ?? 32 } };
    case 'sgmat_vec':
      return { shader: 'gemm/gemm_sgmat_vec.wgsl', defines: { ...common, WIDE_N: opts.wideN ?? false, SHALLOW_K: opts.shallowK ?? false, DBUF: opts.dbuf ?? false } };
    case 'gemv':
    case 'gemv_rows': {
      if (v.transA || !v.transB) throw new RangeError('[gemm] the gemv kernels take b as [N,K] and a untransposed');
      const { TRANS_A: _a, TRANS_B: _b, ...rest } = common;
      if (kernel === 'gemv') return { shader: 'gemm/gemm_gemv.wgsl', defines: { ...rest, VEC: opts.vec ?? false } };
      const rows = opts.rows ?? 1;
      if (!Number.isInteger(rows) || rows < 1 || rows > GEMV_TILE.MAX_M) throw new RangeError(`[gemm] gemm_gemv_rows takes 1…${GEMV_TILE.MAX_M} rows of a, got ${rows}`);
      const wg = opts.wg ?? 256;
      const teams = opts.teams ?? 1;
      if (![1, 2, 4].includes(teams) || (teams > 1 && teams * 64 > wg)) throw new RangeError(`[gemm] gemm_gemv_rows takes 1, 2 or 4 teams of at least 64 invocations, got ${teams} in ${wg}`);
      // Bench only (wrong results): the loads' stage-by-stage ceiling (gemm_gemv_rows.wgsl STAGE).
      const stage = benchStage('PMETAL_BENCH_GEMV_STAGE', [1, 2]);
      return { shader: 'gemm/gemm_gemv_rows.wgsl', defines: { ...rest, MT: rows, WG: wg, ...(teams > 1 ? { TEAMS: teams } : {}), ...(stage ? { STAGE: stage } : {}) } };
    }
    default:
      return { shader: 'gemm/gemm_tiled.wgsl', defines: { ...common, LARGE_TILE: TILED_CONFIGS[opts.config ?? 'small'].LARGE_TILE, VEC: opts.vec ?? false } };
  }
}

/**
 * Whether a and b can be read in runs of `w` elements as vectors: their bases (element
 * offsets in their bindings) and contiguous dimensions (rows of the stored layouts) are
 * multiples of w, so no vector straddles a row end or the end of a binding.
 */
export function vecAligned(w: number, m: number, n: number, k: number, transA: boolean, transB: boolean, aBase: number, bBase: number): boolean {
  const lda = transA ? m : k;
  const ldb = transB ? k : n;
  return aBase % w === 0 && bBase % w === 0 && lda % w === 0 && ldb % w === 0;
}

/** The subgroup-matrix kernel for an adapter (sgmat_configs.ts), memoized per traits object. */
const choices = new WeakMap<AdapterTraits, SgmatChoice>();
export function sgmatChoice(adapter: AdapterTraits): SgmatChoice {
  let c = choices.get(adapter);
  if (!c) choices.set(adapter, (c = pickSgmatKernel(adapter.subgroupMatrixConfigs as SgmatConfig[], adapter.subgroupMaxSize, adapter.limits.maxComputeInvocationsPerWorkgroup)));
  return c;
}

/** Tiles of gemm_sgmat8.wgsl (f32 8×8×8 configurations). */
export const SGMAT8_TILE = { BM: 64, BN: 64 } as const;

/** What every dispatch of one gemm call shares. */
export interface GemmCall {
  ctx: LaunchContext;
  tier: WebGpuTier;
  aDtype: DType;
  variant: GemmVariant;
  alpha: number;
  beta: number;
}

/** A binding and the element offset of the operand's first element inside it. */
export interface GemmWindow {
  b: Binding;
  base: number;
}

/** The kernel and its tile for a problem of m×n×k whose a and b start at these bases (alignment decides). */
export function pickKernel(call: GemmCall, m: number, n: number, k: number, aBase: number, bBase: number): { pipeline: PipelineSpec; bm: number; bn: number } {
  const { ctx, tier, aDtype, variant } = call;
  const { transA, transB } = variant;
  const tune = tuning().gemm;
  if (m <= GEMV_TILE.MAX_M && transB && !transA && tune.gemv) {
    // Decode-style shapes: every tier (f32 accumulation satisfies the f16 tier's bound).
    // Rows of whole 16-byte words take gemm_gemv_rows (4 rows of b per workgroup, K split
    // over the workgroup; PMETAL_GEMV_VARIANT picks its size or the column kernel, see
    // tuning.ts), unless N/4 workgroups exceed the grid; the rest the column kernel.
    const gv = tuning().gemvVariant;
    // m = 0 (an empty batch reaching the launcher inside a fused op): the column kernel, whose
    // grid is then empty; gemm_gemv_rows is specialised on 1…16 rows.
    const shape = GEMV_ROWS_SHAPES[gv === 'column' ? 'rows128' : gv];
    if (gv !== 'column' && m >= 1 && vecAligned(16 / BYTES[aDtype], m, n, k, false, true, aBase, bBase) && Math.ceil(n / (GEMV_ROWS_BN * shape.teams)) <= ctx.limits.maxComputeWorkgroupsPerDimension) {
      return { pipeline: gemmPipeline(tier, aDtype, variant, { kernel: 'gemv_rows', rows: m, ...shape }), bm: m, bn: GEMV_ROWS_BN * shape.teams };
    }
    const vec = vecAligned(4, m, n, k, false, true, aBase, bBase);
    return { pipeline: gemmPipeline(tier, aDtype, variant, { kernel: 'gemv', vec }), bm: GEMV_TILE.BM, bn: GEMV_TILE.BN };
  }
  // bf16 on the subgroup-matrix tier where recordGemm found no matrix-unit plan for it
  // (gemm_bf16.ts): the portable tile kernel.
  if (tier === 'subgroup-matrix' && aDtype !== 'bf16') {
    const choice = sgmatChoice(ctx.adapter);
    if (!choice.kernel) throw new TierUnavailableError(`[gemm] tier 'subgroup-matrix': ${choice.reason}`);
    const sgSize = choice.subgroupSize;
    if (choice.kernel === 'f32-8') {
      return { pipeline: gemmPipeline(tier, aDtype, variant, { kernel: 'sgmat8', sgSize }), bm: SGMAT8_TILE.BM, bn: SGMAT8_TILE.BN };
    }
    const vec = sgmatVecKernel(ctx, aDtype, variant, m, n, k, aBase, bBase);
    if (vec) return vec;
    const storage = ctx.limits.maxComputeWorkgroupStorageSize;
    const wide = sgmatWorkgroupBytes(true, transA, transB) <= storage;
    return { pipeline: gemmPipeline(tier, aDtype, variant, { kernel: 'sgmat', sgSize, wide }), bm: SGMAT_TILE.BM, bn: SGMAT_TILE.BN };
  }
  const config = tiledConfig(m, n);
  const vec = tune.tiledVec && vecAligned(4, m, n, k, transA, transB, aBase, bBase);
  return { pipeline: gemmPipeline(tier, aDtype, variant, { kernel: 'tiled', config, vec }), bm: TILED_CONFIGS[config].BM, bn: TILED_CONFIGS[config].BN };
}

/**
 * gemm_sgmat_vec for an m×n×k problem on the subgroup-matrix tier, where it applies: f16
 * operands, NVIDIA's f16 16×16 configuration in subgroups of 32, a and b on 16-byte words
 * (vecAligned) and the tile's workgroup memory within the device's limit; else undefined.
 * Defaults measured on an H100 at 4096³ (bench --variants): 128×256 tiles, 32-deep slices,
 * one buffer. Double buffering fits 48 KiB with 128×256 tiles only at 16-deep slices
 * (shallowK).
 */
export function sgmatVecKernel(ctx: LaunchContext, aDtype: DType, variant: GemmVariant, m: number, n: number, k: number, aBase: number, bBase: number): { pipeline: PipelineSpec; bm: number; bn: number } | undefined {
  const tune = tuning().gemm;
  const choice = sgmatChoice(ctx.adapter);
  if (aDtype !== 'f16' || choice.kernel !== 'f16-16' || choice.subgroupSize !== 32 || !tune.sgmatVec) return undefined;
  if (!vecAligned(8, m, n, k, variant.transA, variant.transB, aBase, bBase)) return undefined;
  const { dbuf, wideN, shallowK } = tune;
  if (sgmatVecWorkgroupBytes(wideN, variant.transA, variant.transB, dbuf, shallowK) > ctx.limits.maxComputeWorkgroupStorageSize) return undefined;
  const t = SGMAT_VEC_TILES[wideN ? 'wide' : 'narrow'];
  return { pipeline: gemmPipeline('subgroup-matrix', aDtype, variant, { kernel: 'sgmat_vec', wideN, shallowK, dbuf }), bm: t.BM, bn: t.BN };
}

/** The workgroup grid of an m×n output in bm×bn tiles, refused past the device's limit. */
function checkGrid(call: GemmCall, m: number, n: number, bm: number, bn: number): [number, number] {
  const gx = Math.ceil(n / bn);
  const gy = Math.ceil(m / bm);
  const maxGroups = call.ctx.limits.maxComputeWorkgroupsPerDimension;
  if (gx > maxGroups || gy > maxGroups) throw new LimitError(`[gemm] ${m}×${n} needs ${gx}×${gy} workgroups, over maxComputeWorkgroupsPerDimension (${maxGroups}) of this device`);
  return [gx, gy];
}

/** Records one dispatch of an m×n×k problem over `batches` batches (a and b advance by their strides, y and c by m·n). */
export function recordGemm(call: GemmCall, m: number, n: number, k: number, w: { a: GemmWindow; b: GemmWindow; c?: GemmWindow; bias?: GemmWindow; y: GemmWindow }, batches: number, aStride: number, bStride: number, kChunk = 0): void {
  // bf16 on the matrix units (not the decode shapes, which the gemv kernels take on every
  // tier; not a split-K partial pass, which gemm_splitk.ts never asks of that kernel).
  const gemv = m <= GEMV_TILE.MAX_M && call.variant.transB && !call.variant.transA && tuning().gemm.gemv;
  const kf = gemv || kChunk ? undefined : bf16MmaWindow(call, m, n, k, w.a.base, w.b.base);
  if (kf !== undefined) {
    checkGrid(call, m, n, SGMAT_TILE.BM, SGMAT_TILE.BN);
    recordGemmBf16(call, m, n, k, kf, w, batches, aStride, bStride);
    return;
  }
  const bindings: Binding[] = [w.a.b, w.b.b, w.y.b];
  if (w.c) bindings.push(w.c.b);
  if (w.bias) bindings.push(w.bias.b);
  const { pipeline, bm, bn } = pickKernel(call, m, n, k, w.a.base, w.b.base);
  const [gx, gy] = checkGrid(call, m, n, bm, bn);
  call.ctx.rt.dispatch({
    pipeline,
    bindings,
    params: {
      binding: 5,
      data: packParams(GEMM_PARAMS, gemmParamValues(call, m, n, k, w, aStride, bStride, kChunk)),
    },
    workgroups: [gx, gy, batches],
  });
}

/**
 * Tiers: 'subgroup-matrix' for f16 inputs where the adapter has subgroup matrices,
 * shader-f16 and subgroups (and for bf16 where its kernel, f16→f32 16×16×16 in subgroups of
 * 32, fits: gemm_bf16.ts; its shapes outside that kernel run the portable kernel on the
 * tier), then 'portable' (the tiled SIMT kernel) for every dtype. There is no
 * 'subgroups' variant: the tiled kernel gains nothing from subgroup ops as written, so it
 * is not advertised twice under two names.
 */
/** An adapter the bf16 matrix-unit kernel runs on (f16→f32 16×16×16, subgroups of 32). */
function bf16Adapter(adapter: AdapterTraits): boolean {
  const c = sgmatChoice(adapter);
  return c.kernel === 'f16-16' && c.subgroupSize === 32;
}

export const gemmLauncher: Launcher = {
  tiers: (d, f, adapter) =>
    (d === 'f16' || d === 'bf16') &&
    f.has('chromium-experimental-subgroup-matrix') &&
    f.has('shader-f16') &&
    f.has('subgroups') &&
    (!adapter || (d === 'f16' ? sgmatChoice(adapter).kernel : bf16Adapter(adapter)))
      ? ['subgroup-matrix', 'portable']
      : ['portable'],
  launch(ctx, tier, i, o, outs) {
    const a = i.a;
    const b = i.b;
    const d = gemmDims(a.shape, b.shape, o.transA, o.transB);
    const { m, n, k } = d;
    const y = ctx.output(outs.y);
    const call: GemmCall = { ctx, tier, aDtype: a.dtype, variant: { yDtype: y.dtype, transA: o.transA, transB: o.transB, hasC: !!i.c, hasBias: !!i.bias }, alpha: o.alpha, beta: o.beta };
    const ea = BYTES[a.dtype];
    const ey = BYTES[y.dtype];
    // An operand of one batch over the binding limit: blocks of M and N, copied where
    // their windows are strided (gemm_split.ts).
    if (Math.max(m * k * ea, k * n * ea, m * n * ey) > windowLimit(ctx)) {
      launchSplit(call, { a, b, c: i.c, bias: i.bias, y }, d);
      return { y };
    }
    // Few output tiles over a long K: the grid's z splits K instead (gemm_splitk.ts).
    if (launchSplitK(call, { a, b, c: i.c, bias: i.bias, y }, d)) return { y };
    // Batches are chunked so every batched binding's window fits the binding limits; a
    // broadcast operand is bound whole in every chunk.
    const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
    const perBatch = Math.max(d.aStride * ea, d.bStride * ea, m * n * ey);
    const chunks = rowChunks(ctx, d.batch, perBatch).flatMap(([z0, z1]) => {
      const out: [number, number][] = [];
      for (let z = z0; z < z1; z += maxGroups) out.push([z, Math.min(z1, z + maxGroups)]);
      return out;
    });
    // K = 0 leaves a and b empty (y = beta·C + bias): a binding cannot be, and the vec4
    // kernels need 16 bytes, so 16 bytes are bound (every buffer holds ≥ 16); no kernel reads
    // them with no K steps.
    const win = (t: Tensor, binding: number, stride: number, z0: number, z1: number, whole: number) =>
      stride ? windowOf(ctx, t, binding, z0 * stride, (z1 - z0) * stride) : windowOf(ctx, t, binding, 0, Math.max(16 / BYTES[t.dtype], whole));
    for (const [z0, z1] of chunks) {
      recordGemm(
        call,
        m,
        n,
        k,
        {
          a: win(a, 0, d.aStride, z0, z1, m * k),
          b: win(b, 1, d.bStride, z0, z1, k * n),
          y: win(y, 4, m * n, z0, z1, m * n),
          c: i.c ? win(i.c, 2, m * n, z0, z1, m * n) : undefined,
          bias: i.bias ? windowOf(ctx, i.bias, 3, 0, n) : undefined,
        },
        z1 - z0,
        d.aStride,
        d.bStride,
      );
    }
    return { y };
  },
};
