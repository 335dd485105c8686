import { BYTES, type DType } from '../../../dtype.js';
import { gemmDims } from '../../../ops/gemm/reference.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../params.js';
import type { PipelineSpec } from '../pipelines.js';
import { dtCode } from '../pipelines.js';
import { rowChunks, windowOf, type LaunchContext, type Launcher, type WebGpuTier } from '../launch.js';
import type { Binding } from '../runtime.js';
import { NotSupportedError } from '../../../errors.js';

export const GEMM_PARAMS = defineParams([
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['a_base', 'u32'],
  ['b_base', 'u32'],
  ['c_base', 'u32'],
  ['bias_base', 'u32'],
  ['y_base', 'u32'],
  ['a_bstride', 'u32'],
  ['b_bstride', 'u32'],
  ['alpha', 'f32'],
  ['beta', 'f32'],
]);

/**
 * Tile shapes (mirrored by the constants in the .wgsl files; the pipeline key names the
 * switch). The SIMT kernel (gemm_tiled) runs 256 invocations: 64×64 tiles with 4×4
 * micro-tiles for small or skinny problems (LARGE_TILE=0), 128×128 with 8×8 where both M
 * and N exceed 64 (LARGE_TILE=1: twice the reuse of every loaded value).
 */
export const TILED_CONFIGS = {
  small: { LARGE_TILE: 0, BM: 64, BN: 64 },
  large: { LARGE_TILE: 1, BM: 128, BN: 128 },
} as const;
/**
 * Subgroup-matrix kernel: 128×128 tiles, a 2×4 grid of subgroups each owning 4×2 16×16
 * results. WIDE_SMEM=1 (32-deep padded slices) needs more than WebGPU's default 16 KiB of
 * workgroup memory; WIDE_SMEM=0 (16-deep, unpadded) fits in it.
 */
export const SGMAT_TILE = { BM: 128, BN: 128 } as const;

/** Workgroup bytes of gemm_sgmat.wgsl (mirrors its constants: f16 slices + 8 f32 16×16 stages). */
export function sgmatWorkgroupBytes(wide: boolean, transA: boolean, transB: boolean): number {
  const [bk, pad] = wide ? [32, 8] : [16, 0];
  const a = transA ? bk * (SGMAT_TILE.BM + pad) : SGMAT_TILE.BM * (bk + pad);
  const b = transB ? SGMAT_TILE.BN * (bk + pad) : bk * (SGMAT_TILE.BN + pad);
  return 2 * (a + b) + 8 * 256 * 4;
}

export interface GemmVariant {
  yDtype: DType;
  transA: boolean;
  transB: boolean;
  hasC: boolean;
  hasBias: boolean;
}

export function tiledConfig(m: number, n: number): keyof typeof TILED_CONFIGS {
  return m > 64 && n > 64 ? 'large' : 'small';
}

/** The pipeline a tier runs for a variant (exported so the tests can preprocess every one). */
export function gemmPipeline(tier: WebGpuTier, aDtype: DType, v: GemmVariant, opts: { config?: keyof typeof TILED_CONFIGS; sgSize?: number; wide?: boolean } = {}): PipelineSpec {
  const common = { A_DT: dtCode(aDtype), Y_DT: dtCode(v.yDtype), TRANS_A: v.transA, TRANS_B: v.transB, HAS_C: v.hasC, HAS_BIAS: v.hasBias };
  if (tier === 'subgroup-matrix') {
    return { shader: 'gemm/gemm_sgmat.wgsl', defines: { ...common, WIDE_SMEM: opts.wide ?? true }, overrides: { SG_SIZE: opts.sgSize ?? 32 } };
  }
  return { shader: 'gemm/gemm_tiled.wgsl', defines: { ...common, LARGE_TILE: TILED_CONFIGS[opts.config ?? 'small'].LARGE_TILE } };
}

/**
 * The subgroup size the subgroup-matrix kernel is laid out for (the adapter's largest), after
 * checking what the kernel needs of the adapter: an f16→f32 16×16×16 matrix config and a
 * workgroup of 8 such subgroups.
 */
function sgSizeOf(ctx: LaunchContext): number {
  const info = ctx.rt.opened.adapter.info as unknown as { subgroupMaxSize?: number };
  const sg = info.subgroupMaxSize && info.subgroupMaxSize > 0 ? info.subgroupMaxSize : 32;
  // GPUSubgroupMatrixConfig's M/N/K are `unsigned long long` (a BigInt in some bindings).
  type Cfg = { componentType?: string; resultComponentType?: string; M?: number | bigint; N?: number | bigint; K?: number | bigint };
  const configs = ctx.rt.opened.subgroupMatrixConfigs as Cfg[];
  const show = (c: Cfg) => `${c.componentType}→${c.resultComponentType} ${Number(c.M)}×${Number(c.N)}×${Number(c.K)}`;
  const has16 = configs.some((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && Number(c.M) === 16 && Number(c.N) === 16 && Number(c.K) === 16);
  if (configs.length && !has16) {
    throw new NotSupportedError(`[gemm] tier 'subgroup-matrix' needs an f16→f32 16×16×16 subgroup matrix config; the adapter offers ${configs.map(show).join(', ')}`);
  }
  if (8 * sg > ctx.limits.maxComputeInvocationsPerWorkgroup) {
    throw new NotSupportedError(`[gemm] tier 'subgroup-matrix' needs workgroups of 8 subgroups of ${sg} (maxComputeInvocationsPerWorkgroup is ${ctx.limits.maxComputeInvocationsPerWorkgroup})`);
  }
  return sg;
}

/**
 * Tiers: 'subgroup-matrix' for f16 inputs where the adapter has subgroup matrices,
 * shader-f16 and subgroups, then 'portable' (the tiled SIMT kernel) for every dtype. There is no
 * 'subgroups' variant: the tiled kernel gains nothing from subgroup ops as written, so it
 * is not advertised twice under two names.
 */
export const gemmLauncher: Launcher = {
  tiers: (d, f) => (d === 'f16' && f.has('chromium-experimental-subgroup-matrix') && f.has('shader-f16') && f.has('subgroups') ? ['subgroup-matrix', 'portable'] : ['portable']),
  launch(ctx, tier, i, o, outs) {
    const a = i.a;
    const b = i.b;
    const d = gemmDims(a.shape, b.shape, o.transA, o.transB);
    const { m, n, k } = d;
    const y = ctx.output(outs.y);
    const variant: GemmVariant = { yDtype: y.dtype, transA: o.transA, transB: o.transB, hasC: !!i.c, hasBias: !!i.bias };
    let pipeline: PipelineSpec;
    let bm: number;
    let bn: number;
    if (tier === 'subgroup-matrix') {
      const wide = sgmatWorkgroupBytes(true, o.transA, o.transB) <= ctx.limits.maxComputeWorkgroupStorageSize;
      pipeline = gemmPipeline(tier, a.dtype, variant, { sgSize: sgSizeOf(ctx), wide });
      bm = SGMAT_TILE.BM;
      bn = SGMAT_TILE.BN;
    } else {
      const config = tiledConfig(m, n);
      pipeline = gemmPipeline(tier, a.dtype, variant, { config });
      bm = TILED_CONFIGS[config].BM;
      bn = TILED_CONFIGS[config].BN;
    }
    const gx = Math.ceil(n / bn);
    const gy = Math.ceil(m / bm);
    const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
    if (gx > maxGroups || gy > maxGroups) throw new RangeError(`[gemm] ${m}×${n} needs ${gx}×${gy} workgroups, over maxComputeWorkgroupsPerDimension (${maxGroups})`);

    // Batches are chunked so every batched binding's window fits the binding limits; a
    // broadcast operand is bound whole in every chunk.
    const ea = BYTES[a.dtype];
    const ey = BYTES[y.dtype];
    const perBatch = Math.max(d.aStride * ea, d.bStride * ea, m * n * ey);
    const chunks = rowChunks(ctx, d.batch, perBatch).flatMap(([z0, z1]) => {
      const out: [number, number][] = [];
      for (let z = z0; z < z1; z += maxGroups) out.push([z, Math.min(z1, z + maxGroups)]);
      return out;
    });
    const win = (t: Tensor, binding: number, stride: number, z0: number, z1: number, whole: number) =>
      stride ? windowOf(ctx, t, binding, z0 * stride, (z1 - z0) * stride) : windowOf(ctx, t, binding, 0, whole);
    for (const [z0, z1] of chunks) {
      const aw = win(a, 0, d.aStride, z0, z1, m * k);
      const bw = win(b, 1, d.bStride, z0, z1, k * n);
      const yw = win(y, 4, m * n, z0, z1, m * n);
      const bindings: Binding[] = [aw.b, bw.b, yw.b];
      let cBase = 0;
      let biasBase = 0;
      if (i.c) {
        const cw = win(i.c, 2, m * n, z0, z1, m * n);
        bindings.push(cw.b);
        cBase = cw.base;
      }
      if (i.bias) {
        const bw2 = windowOf(ctx, i.bias, 3, 0, n);
        bindings.push(bw2.b);
        biasBase = bw2.base;
      }
      ctx.rt.dispatch({
        pipeline,
        bindings,
        params: {
          binding: 5,
          data: packParams(GEMM_PARAMS, {
            m,
            n,
            k,
            a_base: aw.base,
            b_base: bw.base,
            c_base: cBase,
            bias_base: biasBase,
            y_base: yw.base,
            a_bstride: d.aStride,
            b_bstride: d.bStride,
            alpha: o.alpha,
            beta: o.beta,
          }),
        },
        workgroups: [gx, gy, z1 - z0],
      });
    }
    return { y };
  },
};
