import { envFlag } from '../../../env_flag.js';
import { OptionsError } from '../../../errors.js';
import { benchStage } from '../tuning.js';
import type { AttnDims } from '../../../ops/flash_attention_forward/dims.js';
import type { AdapterTraits } from '../launch.js';
import type { PipelineSpec } from '../pipelines.js';

/** fa_forward_sgmat.wgsl's tile: subgroups (16 query rows each), keys per tile, whether V reuses the K buffer, workgroup bytes. */
export interface SgmatPlan {
  nsg: number;
  bk: number;
  kvShared: boolean;
  bytes: number;
  /** The stages' row padding (faSgmatPad). */
  pad: number;
}

/** Workgroup bytes of fa_forward_sgmat.wgsl (mirrors its arrays: padded K/V tiles, f32 and f16 stages per subgroup with rows of bk + pad, three 16-byte flag arrays). */
export function sgmatBytes(d: number, dv: number, nsg: number, bk: number, kvShared: boolean, pad = 0): number {
  const kt = bk * (kvShared ? Math.max(d, dv) + 8 : d + 8);
  const vt = kvShared ? 0 : bk * (dv + 8);
  return 2 * (kt + vt) + (4 + 2) * nsg * 16 * (bk + pad) + 3 * 16;
}

/**
 * The stages' row padding (fa_forward_sgmat.wgsl SPAD): PMETAL_FA_SGMAT_PAD=8 pads each row
 * of the S and P stages by 8 elements, which takes the bank conflicts out of the matrix store
 * of S and the matrix load of P (test/wgsl/fa_stage_banks.test.ts); 0 (the default until it
 * is timed and checked on the H100) keeps rows of BK.
 */
export function faSgmatPad(): number {
  const raw = typeof process !== 'undefined' ? process.env.PMETAL_FA_SGMAT_PAD : undefined;
  if (raw === undefined || raw === '' || raw === '0') return 0;
  if (raw === '8') return 8;
  throw new OptionsError(`[flash_attention] PMETAL_FA_SGMAT_PAD: expected 0 or 8, got '${raw}'`);
}

const env = (name: string): number => Number(typeof process !== 'undefined' ? process.env[name] : undefined);

/**
 * The tile: 8 subgroups (128 query rows share each K/V tile) where the workgroup memory
 * allows, else 4; the largest key tile that fits — 64 keys up to head dim 128 (S and the
 * lane's scores stay in registers next to Q and O), 32 beyond; K and V share one buffer only
 * when nothing else fits. `PMETAL_FA_SGMAT_BK` (16, 32, 64) and `PMETAL_FA_SGMAT_NSG` (4, 8)
 * pin them for benchmarks. `pad` stages that fit no tile fall back to unpadded ones. Undefined:
 * nothing fits (the SIMT kernel runs).
 */
export function sgmatPlan(d: number, dv: number, storage: number, maxInvocations = 256, pad = faSgmatPad()): SgmatPlan | undefined {
  const pinBk = env('PMETAL_FA_SGMAT_BK');
  const pinNsg = env('PMETAL_FA_SGMAT_NSG');
  const firstBk = [16, 32, 64].includes(pinBk) ? pinBk : Math.max(d, dv) <= 128 ? 64 : 32;
  const nsgs = [4, 8].includes(pinNsg) ? [pinNsg] : [8, 4];
  for (const kvShared of [false, true]) {
    for (const nsg of nsgs) {
      if (nsg * 32 > maxInvocations) continue;
      for (const bk of [64, 32, 16]) {
        if (bk > firstBk) continue;
        const bytes = sgmatBytes(d, dv, nsg, bk, kvShared, pad);
        if (bytes <= storage) return { nsg, bk, kvShared, bytes, pad };
      }
    }
  }
  // Padded stages that fit nowhere: the unpadded ones (the same results, conflicts and all).
  return pad ? sgmatPlan(d, dv, storage, maxInvocations, 0) : undefined;
}

/** bench --fa-ceiling's stage (fa_forward_sgmat.wgsl STAGE; 0 = the kernel). Wrong results otherwise: never set it outside that bench. */
export const faCeilingStage = (): number => benchStage('PMETAL_BENCH_FA_STAGE', [1, 2, 3]);

/**
 * The next K/V tile is loaded into registers while this one is multiplied (fa_sg_fetch.wgsl /
 * fa_sg_stash.wgsl; not with a shared K/V buffer): on the H100 (run S11 call C) 12–13% faster
 * at D = 64 — 7.84 → 6.80 ms at B 2, S 8192, 16 heads, causal; 0.655 → 0.575 ms at the 1B
 * prefill's shape. PMETAL_FA_SGMAT_PREFETCH=0 stages each tile straight from global memory.
 */
export const faSgmatPrefetch = (): boolean => (typeof process !== 'undefined' ? process.env.PMETAL_FA_SGMAT_PREFETCH : undefined) !== '0';

/**
 * Each lane reads its half row of S (and writes P) from a rotated column (fa_sg_rot.wgsl), so
 * the 32 lanes of a subgroup meet 32 banks instead of one or two; forward and backward alike.
 * On the H100 (run S17 call A, conformance 637/637 with it) the forward ran 35% faster:
 * 14.08 → 9.12 ms at B 4, S 4096, 32 heads, D 128; 0.569 → 0.409 ms at the 1B prefill's
 * shape. PMETAL_FA_SGMAT_SWIZZLE=0 keeps the plain order.
 */
export const faSgmatSwizzle = (): boolean => envFlag('flash_attention', 'PMETAL_FA_SGMAT_SWIZZLE', true);

/**
 * PMETAL_FA_SGMAT_LATE_FIRST=1: a head's row blocks are launched last block first
 * (fa_sg_block.wgsl LATE_FIRST; forward and dq): under a causal mask the last rows see the
 * most keys. Opt-in: on the H100 (run S17 call A) it changed nothing beyond noise (7.55 →
 * 7.60 ms causal at B 4, S 4096, D 128; 0.569 → 0.563 ms at the 1B prefill's shape).
 */
export const faSgmatLateFirst = (): boolean => envFlag('flash_attention', 'PMETAL_FA_SGMAT_LATE_FIRST', false);

/** The pipeline for exact head dims (every fragment loop is unrolled for them). */
export function faSgmatPipeline(d: number, dv: number, plan: SgmatPlan, prefetch = faSgmatPrefetch()): PipelineSpec {
  const on = prefetch && !plan.kvShared;
  // Words of a K / V tile each invocation moves (the last round may be partial).
  const per = (dim: number) => Math.ceil((plan.bk * dim) / 8 / (plan.nsg * 32));
  return {
    shader: 'attention/fa_forward_sgmat.wgsl',
    defines: {
      D: d,
      DV: dv,
      NQ: d / 16,
      NV: dv / 16,
      BK: plan.bk,
      NKF: plan.bk / 16,
      NSG: plan.nsg,
      STAGE: faCeilingStage(),
      SWZ: faSgmatSwizzle(),
      LATE_FIRST: faSgmatLateFirst(),
      KV_SHARED: plan.kvShared,
      KT: plan.bk * (plan.kvShared ? Math.max(d, dv) + 8 : d + 8),
      SPAD: plan.pad,
      ...(on ? { PREFETCH: true, KPER: per(d), VPER: per(dv) } : {}),
    },
  };
}

/**
 * Whether the adapter can run fa_forward_sgmat.wgsl: an f16→f32 16×16×16 subgroup-matrix
 * configuration and subgroups of exactly 32 (two lanes own a row of a 16-row fragment).
 */
export function sgmatAdapterFits(adapter: AdapterTraits): boolean {
  if (adapter.subgroupMinSize !== 32 || adapter.subgroupMaxSize !== 32) return false;
  type Cfg = { componentType?: string; resultComponentType?: string; M?: number | bigint; N?: number | bigint; K?: number | bigint };
  return (adapter.subgroupMatrixConfigs as Cfg[]).some((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && Number(c.M) === 16 && Number(c.N) === 16 && Number(c.K) === 16);
}

/**
 * A call the subgroup-matrix kernel takes: head dims multiples of 16 (whole fragments) and
 * 16-byte rows everywhere (it reads q, k, v as vec4<u32>: every stride and window base a
 * multiple of 8 halves). Others run the subgroups kernel on that tier.
 */
export function sgmatShapeFits(dm: AttnDims, bases: number[]): boolean {
  const strides = [dm.q, dm.k, dm.v, dm.o].flatMap((s) => [s.b, s.s, s.h]);
  return dm.d % 16 === 0 && dm.dv % 16 === 0 && [...strides, ...bases].every((x) => x % 8 === 0);
}
