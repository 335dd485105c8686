import { TierUnavailableError } from '../../../errors.js';
import { decodeDims, splitPlan } from '../../../ops/decode_attention/dims.js';
import type { DecodeOptions } from '../../../ops/decode_attention/options.js';
import { kernelScore, UNBOUNDED } from '../../../ops/flash_attention_forward/options.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix } from './common.js';
import { fa4Unsupported, FA4_TILE, flashAttentionForwardMetalLauncher } from './flash_attention.js';

/** DecodeParams in msl/attention/decode.h. */
export const DECODE_METAL_PARAMS = defineParams([
  ['rows', 'u32'],
  ['splits', 'u32'],
  ['split_len', 'u32'],
  ['batches', 'u32'],
  ['t', 'u32'],
  ['hq', 'u32'],
  ['hkv', 'u32'],
  ['group', 'u32'],
  ['d', 'u32'],
  ['dv', 'u32'],
  ['bk', 'u32'],
  ['bq', 'u32'],
  ['paged', 'u32'],
  ['smax', 'u32'],
  ['block_size', 'u32'],
  ['num_blocks', 'u32'],
  ['max_blocks', 'u32'],
  ['capacity', 'u32'],
  ['rec', 'u32'],
  ['has_sinks', 'u32'],
  ['has_cap', 'u32'],
  ['left', 'i32'],
  ['scale', 'f32'],
  ['cap', 'f32'],
  ['inv_cap', 'f32'],
]);

const LIB = 'attention/decode_attention.metal';
/** The Metal 4 split kernel (the reduce is the Metal 3 library's: no product in it). */
const LIB4 = 'attention/decode_attention_mpp.metal';
/** Threadgroup memory: 32 KiB less the kernel's own (the atomic). */
const TG_BYTES = 32 * 1024 - 256;

/** Rows (8 threads each) and keys per tile whose K, V and score tiles fit. */
export function decodeMetalTiles(d: number, dv: number): { bq: number; bk: number } {
  for (const [bq, bk] of [[16, 32], [16, 16], [8, 16], [8, 8]] as const) if (4 * (bk * (d + dv) + bq * bk) <= TG_BYTES) return { bq, bk };
  throw new RangeError(`[decode_attention] head dims ${d}/${dv} do not fit the threadgroup memory`);
}

/**
 * decode_attention on Metal: a split kernel then decode_reduce (msl/attention/
 * decode_attention.metal), whole buffers. The split kernel is decode_split (metal3, SIMT) or,
 * on a chip with Metal 4 and neural accelerators, decode_split_mpp (metal4,
 * msl/attention/decode_attention_mpp.metal: Q·Kᵀ and P·V on the MPP tile matmul, the T·G rows
 * of a kv head as the M side). The router takes metal4 whenever that kernel takes the head dims
 * (the forward's rule, fa4Unsupported: its tiles and operand types are the forward's); a forced
 * metal4 it cannot take is refused here. On metal3 a plan of one split (capacity ≤ 256 keys)
 * is one dispatch: decode_direct finishes the rows itself (decode_reduce's arithmetic for one
 * split), as decode_stream's DIRECT does on webgpu; metal4's MPP tile keeps the reduce.
 */
export const decodeAttentionMetalLauncher: MetalLauncher = {
  tiers: (d, chip) => flashAttentionForwardMetalLauncher.tiers(d, chip),
  launch(ctx, tier, i, o: DecodeOptions, outs) {
    const dm = decodeDims('decode_attention', i.q, i.kCache, i.vCache, i.lengths, i.blockTable);
    if (tier === 'metal4') {
      if (!(ctx.chip.metal4 && ctx.chip.hasNax)) {
        throw new TierUnavailableError(`[decode_attention] tier 'metal4' needs a chip with Metal 4 and neural accelerators; ${ctx.chip.name} has ${ctx.chip.metal4 ? 'no neural accelerators' : 'no Metal 4'}`);
      }
      const why = fa4Unsupported(i.q.dtype, dm.d, dm.dv);
      if (why) throw new TierUnavailableError(`[decode_attention] tier 'metal4' needs ${why}; use tier 'metal3'`);
    }
    const out = ctx.output(outs.o);
    const lse = ctx.output(outs.lse);
    const m4 = tier === 'metal4';
    const tiles = m4 ? { bq: FA4_TILE.BQ, bk: FA4_TILE.BK } : decodeMetalTiles(dm.d, dm.dv);
    const sp = splitPlan(dm.capacity, tiles.bk);
    const rec = 4 + dm.dv;
    const direct = !m4 && sp.splits === 1;
    // No partials when the split kernel finishes the rows (a stand-in binds its slot).
    const part = direct ? undefined : ctx.output({ dtype: 'f32', shape: [dm.batch * dm.hq * dm.t * sp.splits * rec] });
    const rows = dm.t * dm.group;
    const params = packParams(DECODE_METAL_PARAMS, {
      rows,
      splits: sp.splits,
      split_len: sp.len,
      batches: dm.batch,
      t: dm.t,
      hq: dm.hq,
      hkv: dm.hkv,
      group: dm.group,
      d: dm.d,
      dv: dm.dv,
      bk: tiles.bk,
      bq: tiles.bq,
      paged: dm.paged ? 1 : 0,
      smax: dm.smax,
      block_size: dm.blockSize,
      num_blocks: dm.numBlocks,
      max_blocks: dm.maxBlocks,
      capacity: dm.capacity,
      rec,
      has_sinks: i.sinks ? 1 : 0,
      has_cap: o.softcap === undefined ? 0 : 1,
      left: o.window?.left ?? UNBOUNDED,
      ...kernelScore(o, dm.d),
    });
    // No table (contiguous) or no sinks: the lengths stand in (never read then).
    const table = i.blockTable ?? i.lengths;
    const t = dtSuffix(i.q.dtype);
    const cpw = Math.max(dm.d, dm.dv) <= 64 ? 1 : Math.max(dm.d, dm.dv) <= 128 ? 2 : 4;
    const splitBuffers = [
      { index: 0, tensor: i.q },
      { index: 1, tensor: i.kCache },
      { index: 2, tensor: i.vCache },
      { index: 3, tensor: i.lengths },
      { index: 4, tensor: table },
      { index: 5, tensor: part ?? out },
    ];
    const grid: [number, number, number] = [Math.ceil(rows / tiles.bq), sp.splits * dm.hkv, dm.batch];
    if (m4) {
      ctx.dispatch({ library: LIB4, fn: `decode_split_mpp_${t}_dv${dm.dv}`, buffers: splitBuffers, bytes: [{ index: 8, data: params }], grid, threadgroup: [FA4_TILE.threads, 1, 1] });
    } else {
      // decode_direct binds o, lse and the sinks too; decode_split never touches them (stand-ins).
      const finish = direct ? [{ index: 6, tensor: out }, { index: 7, tensor: lse }, { index: 9, tensor: i.sinks ?? i.lengths }] : [{ index: 6, tensor: i.lengths }, { index: 7, tensor: i.lengths }, { index: 9, tensor: i.lengths }];
      ctx.dispatch({
        library: LIB,
        fn: `decode_${direct ? 'direct' : 'split'}_${t}_c${cpw}`,
        buffers: [...splitBuffers, ...finish],
        bytes: [{ index: 8, data: params }],
        threadgroupMemory: [{ index: 0, byteLength: 4 * (tiles.bk * (dm.d + dm.dv) + tiles.bq * tiles.bk) }],
        grid,
        threadgroup: [8 * tiles.bq, 1, 1],
      });
    }
    if (!part) return { o: out, lse };
    ctx.dispatch({
      library: LIB,
      fn: `decode_reduce_${t}`,
      buffers: [
        { index: 0, tensor: i.sinks ?? i.lengths },
        { index: 3, tensor: i.lengths },
        { index: 4, tensor: table },
        { index: 5, tensor: part },
        { index: 6, tensor: out },
        { index: 7, tensor: lse },
      ],
      bytes: [{ index: 8, data: params }],
      grid: [dm.batch * dm.hq * dm.t, 1, 1],
      threadgroup: [64, 1, 1],
    });
    part.dispose();
    return { o: out, lse };
  },
};
