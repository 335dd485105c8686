import { BYTES, type DType } from '../../../dtype.js';
import { TierUnavailableError } from '../../../errors.js';
import { attnDims, kernelGeometry } from '../../../ops/flash_attention_forward/dims.js';
import { kernelMask, kernelScore, type AttentionOptions } from '../../../ops/flash_attention_forward/options.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { gemmLauncher } from './gemm.js';
import { dtSuffix } from './common.js';

/** FaParams in msl/attention/fa_params.h (whole buffers: no bases), for both tiers. */
export const FA_METAL_PARAMS = defineParams([
  ['rows', 'u32'],
  ['batches', 'u32'],
  ['sq', 'u32'],
  ['sk', 'u32'],
  ['hq', 'u32'],
  ['hkv', 'u32'],
  ['group', 'u32'],
  ['d', 'u32'],
  ['dv', 'u32'],
  ['q_sb', 'u32'],
  ['q_ss', 'u32'],
  ['q_sh', 'u32'],
  ['k_sb', 'u32'],
  ['k_ss', 'u32'],
  ['k_sh', 'u32'],
  ['v_sb', 'u32'],
  ['v_ss', 'u32'],
  ['v_sh', 'u32'],
  ['o_sb', 'u32'],
  ['o_ss', 'u32'],
  ['o_sh', 'u32'],
  ['has_offset', 'u32'],
  ['offset', 'i32'],
  ['left', 'i32'],
  ['right', 'i32'],
  ['scale', 'f32'],
  ['cap', 'f32'],
  ['inv_cap', 'f32'],
]);

/** Keys per tile of the kernel (FA_BK). */
const BK = 16;
/** Dv/8 buckets with an instantiation (fa_fwd_<dt>_dv<8·bucket>). */
const DV_BUCKETS = [8, 10, 12, 16, 24, 32];
/** Threadgroup memory the kernel's own arrays take (qoff[32], the atomic), and Apple's 32 KiB. */
const OWN_BYTES = 256;
const TG_LIMIT = 32 * 1024;

export const dvBucket = (dv: number): number => DV_BUCKETS.find((b) => b * 8 >= dv)!;

/** SIMD-groups per threadgroup: the most of 4, 2, 1 whose Q tile and K/V tile fit in 32 KiB. */
export function faSimdgroups(d: number, dv: number, elemBytes: number): number {
  for (const nsg of [4, 2, 1]) if ((8 * nsg * d + BK * Math.max(d, dv)) * elemBytes + OWN_BYTES <= TG_LIMIT) return nsg;
  throw new RangeError(`[flash_attention_forward] head dims ${d}/${dv} do not fit the threadgroup memory`);
}

/** The Metal 4 kernel's tiles (msl/attention/flash_attention_mpp.metal): rows, keys, head-dim slice, threads. */
export const FA4_TILE = { BQ: 32, BK: 32, BD: 32, threads: 128 } as const;

/**
 * Why the Metal 4 kernel cannot take these head dims, or undefined when it can: every product
 * reduces over whole 32-deep slices (D % 32 == 0; the accelerator matmul is wrong on a partial
 * slice), Dv is an instantiation (a multiple of 32) and the V tile fits beside the slices —
 * Dv ≤ 128 where P·V multiplies in f32 (f32, bf16), ≤ 256 in f16.
 */
export function fa4Unsupported(dtype: DType, d: number, dv: number): string | undefined {
  if (d % FA4_TILE.BD !== 0) return `D % ${FA4_TILE.BD} == 0, got D=${d}`;
  const maxDv = dtype === 'f16' ? 256 : 128;
  if (dv % 32 !== 0 || dv > maxDv) return `Dv a multiple of 32 up to ${maxDv} for ${dtype}, got Dv=${dv}`;
  return undefined;
}

/**
 * flash_attention_forward on Metal: 'metal4' (msl/attention/flash_attention_mpp.metal, MPP
 * matmuls) where the chip has Metal 4 and neural accelerators, 'metal3'
 * (msl/attention/flash_attention.metal, simdgroup_matrix) everywhere. The router takes metal4
 * whenever the kernel takes the head dims (fa4Unsupported); a forced metal4 it cannot take is
 * refused here.
 */
export const flashAttentionForwardMetalLauncher: MetalLauncher = {
  tiers: (d, chip) => gemmLauncher.tiers(d, chip),
  launch(ctx, tier, i, o: AttentionOptions, outs) {
    const dm = attnDims('flash_attention_forward', o.layout, i.q, i.k, i.v, i.cuSeqlensQ, i.cuSeqlensK);
    if (tier === 'metal4') {
      if (!(ctx.chip.metal4 && ctx.chip.hasNax)) {
        throw new TierUnavailableError(`[flash_attention_forward] tier 'metal4' needs a chip with Metal 4 and neural accelerators; ${ctx.chip.name} has ${ctx.chip.metal4 ? 'no neural accelerators' : 'no Metal 4'}`);
      }
      const why = fa4Unsupported(i.q.dtype, dm.d, dm.dv);
      if (why) throw new TierUnavailableError(`[flash_attention_forward] tier 'metal4' needs ${why}; use tier 'metal3'`);
    }
    const out = ctx.output(outs.o);
    const lse = ctx.output(outs.lse);
    const e = BYTES[i.q.dtype];
    const rows = dm.sq * dm.group;
    const buffers = [
      { index: 0, tensor: i.q },
      { index: 1, tensor: i.k },
      { index: 2, tensor: i.v },
      { index: 3, tensor: out },
      { index: 4, tensor: lse },
    ];
    if (i.sinks) buffers.push({ index: 5, tensor: i.sinks });
    if (dm.varlen) buffers.push({ index: 6, tensor: i.cuSeqlensQ }, { index: 7, tensor: i.cuSeqlensK });
    const common = {
      constants: [
        { index: 0, type: 'bool' as const, value: dm.varlen },
        { index: 1, type: 'bool' as const, value: !!i.sinks },
        { index: 2, type: 'bool' as const, value: o.softcap !== undefined },
      ],
      buffers,
      bytes: [
        {
          index: 8,
          data: packParams(FA_METAL_PARAMS, {
            rows,
            batches: dm.batch,
            ...kernelGeometry(dm),
            ...kernelMask(o),
            ...kernelScore(o, dm.d),
          }),
        },
      ],
    };
    if (tier === 'metal4') {
      ctx.dispatch({
        library: 'attention/flash_attention_mpp.metal',
        fn: `fa_fwd_mpp_${dtSuffix(i.q.dtype)}_dv${dm.dv}`,
        ...common,
        grid: [Math.ceil(rows / FA4_TILE.BQ), dm.hkv, dm.varlen ? 1 : dm.batch],
        threadgroup: [FA4_TILE.threads, 1, 1],
      });
      return { o: out, lse };
    }
    const nsg = faSimdgroups(dm.d, dm.dv, e);
    const bq = 8 * nsg;
    ctx.dispatch({
      library: 'attention/flash_attention.metal',
      fn: `fa_fwd_${dtSuffix(i.q.dtype)}_dv${8 * dvBucket(dm.dv)}`,
      ...common,
      threadgroupMemory: [{ index: 0, byteLength: (bq * dm.d + BK * Math.max(dm.d, dm.dv)) * e }],
      grid: [Math.ceil(rows / bq), dm.hkv, dm.varlen ? 1 : dm.batch],
      threadgroup: [32 * nsg, 1, 1],
    });
    return { o: out, lse };
  },
};
