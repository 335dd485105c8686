import { BYTES } from '../../../dtype.js';
import { NotSupportedError } from '../../../errors.js';
import { decodeDims, splitPlan, type DecodeDims } from '../../../ops/decode_attention/dims.js';
import type { DecodeOptions } from '../../../ops/decode_attention/options.js';
import { kernelScore, UNBOUNDED } from '../../../ops/flash_attention_forward/options.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { grid, rowChunks, windowOf, type LaunchContext, type Launcher } from '../launch.js';
import { dtCode } from '../pipelines.js';
import { maxdOf } from './flash_attention.js';

/** Params of wgsl/attention/decode_params.wgsl. */
export const DECODE_PARAMS = defineParams([
  ['rows', 'u32'],
  ['blocks', 'u32'],
  ['splits', 'u32'],
  ['split_len', 'u32'],
  ['groups', 'u32'],
  ['groups_x', 'u32'],
  ['batches', 'u32'],
  ['t', 'u32'],
  ['hq', 'u32'],
  ['hkv', 'u32'],
  ['group', 'u32'],
  ['d', 'u32'],
  ['dv', 'u32'],
  ['bk', 'u32'],
  ['paged', 'u32'],
  ['smax', 'u32'],
  ['block_size', 'u32'],
  ['num_blocks', 'u32'],
  ['max_blocks', 'u32'],
  ['capacity', 'u32'],
  ['q_base', 'u32'],
  ['k_base', 'u32'],
  ['v_base', 'u32'],
  ['len_base', 'u32'],
  ['table_base', 'u32'],
  ['part_base', 'u32'],
  ['rec_words', 'u32'],
  ['o_base', 'u32'],
  ['lse_base', 'u32'],
  ['sink_base', 'u32'],
  ['has_sinks', 'u32'],
  ['has_cap', 'u32'],
  ['left', 'i32'],
  ['scale', 'f32'],
  ['cap', 'f32'],
  ['inv_cap', 'f32'],
]);

/** Tiles of decode_split.wgsl: rows (8 invocations each) and keys, within the workgroup-memory limit. */
export function decodeTiles(maxd: number, storage: number, maxInvocations: number): { bq: number; bk: number } {
  for (const [bq, bk] of [[16, 32], [16, 16], [8, 16], [8, 8], [4, 8], [2, 8], [1, 8]] as const) {
    if (bq * 8 <= Math.min(256, maxInvocations) && 4 * (2 * bk * maxd + bq * bk) + 8 <= storage) return { bq, bk };
  }
  throw new NotSupportedError(`[decode_attention] head dim class ${maxd} needs more workgroup memory than this adapter's ${storage} bytes`);
}

/**
 * decode_attention on WebGPU ('portable'): decode_split.wgsl per (row block, split, kv head,
 * sequence) writes partials into an f32 scratch, decode_reduce.wgsl per (sequence, head, token)
 * combines them. Chunked by whole sequences within maxStorageBufferBindingSize; a paged cache
 * is bound whole (any sequence may use any block), so it must fit one binding.
 */
export const decodeAttentionLauncher: Launcher = {
  tiers: () => ['portable'],
  launch(ctx, _tier, i, o: DecodeOptions, outs) {
    const dm = decodeDims('decode_attention', i.q, i.kCache, i.vCache, i.lengths, i.blockTable);
    const out = ctx.output(outs.o);
    const lse = ctx.output(outs.lse);
    const maxd = maxdOf(dm.d, dm.dv);
    const tiles = decodeTiles(maxd, ctx.limits.maxComputeWorkgroupStorageSize, ctx.limits.maxComputeInvocationsPerWorkgroup);
    const sp = splitPlan(dm.capacity, tiles.bk);
    const recWords = 1 + dm.dv / 4;
    const e = BYTES[i.q.dtype];
    const perSeq = Math.max(dm.t * dm.hq * Math.max(dm.d, dm.dv) * e, dm.paged ? 0 : dm.hkv * dm.smax * Math.max(dm.d, dm.dv) * e, dm.hq * dm.t * sp.splits * recWords * 16);
    if (dm.paged) rowChunks(ctx, 1, dm.numBlocks * dm.blockSize * dm.hkv * Math.max(dm.d, dm.dv) * e);
    const part = ctx.output({ dtype: 'f32', shape: [dm.batch * dm.hq * dm.t * sp.splits * recWords * 4] });
    for (const [b0, b1] of rowChunks(ctx, dm.batch, perSeq)) run(ctx, dm, o, i, { out, lse, part }, tiles, sp, maxd, b0, b1);
    part.dispose();
    return { o: out, lse };
  },
};

function run(ctx: LaunchContext, dm: DecodeDims, o: DecodeOptions, i: Record<string, Tensor>, t: { out: Tensor; lse: Tensor; part: Tensor }, tiles: { bq: number; bk: number }, sp: { splits: number; len: number }, maxd: number, b0: number, b1: number): void {
  const nb = b1 - b0;
  const recWords = 1 + dm.dv / 4;
  const perRec = dm.hq * dm.t * sp.splits * recWords * 4;
  const qw = windowOf(ctx, i.q, 0, b0 * dm.t * dm.hq * dm.d, nb * dm.t * dm.hq * dm.d);
  const kvSpan = (hd: number) => dm.hkv * dm.smax * hd;
  const kw = dm.paged ? windowOf(ctx, i.kCache, 1, 0, i.kCache.size) : windowOf(ctx, i.kCache, 1, b0 * kvSpan(dm.d), nb * kvSpan(dm.d));
  const vw = dm.paged ? windowOf(ctx, i.vCache, 2, 0, i.vCache.size) : windowOf(ctx, i.vCache, 2, b0 * kvSpan(dm.dv), nb * kvSpan(dm.dv));
  const lw = windowOf(ctx, i.lengths, 3, b0, nb);
  // Contiguous caches have no table: the lengths stand in (never read then).
  const tw = dm.paged ? windowOf(ctx, i.blockTable, 4, b0 * dm.maxBlocks, nb * dm.maxBlocks) : { b: { ...lw.b, binding: 4 }, base: 0 };
  const pw = windowOf(ctx, t.part, 5, b0 * perRec, nb * perRec);
  const rows = dm.t * dm.group;
  const blocks = Math.ceil(rows / tiles.bq);
  const common = {
    rows,
    blocks,
    splits: sp.splits,
    split_len: sp.len,
    batches: nb,
    t: dm.t,
    hq: dm.hq,
    hkv: dm.hkv,
    group: dm.group,
    d: dm.d,
    dv: dm.dv,
    bk: tiles.bk,
    paged: dm.paged ? 1 : 0,
    smax: dm.smax,
    block_size: dm.blockSize,
    num_blocks: dm.numBlocks,
    max_blocks: dm.maxBlocks,
    capacity: dm.capacity,
    q_base: qw.base,
    k_base: kw.base,
    v_base: vw.base,
    len_base: lw.base,
    table_base: tw.base,
    part_base: pw.base / 4,
    rec_words: recWords,
    o_base: 0,
    lse_base: 0,
    sink_base: 0,
    has_sinks: i.sinks ? 1 : 0,
    has_cap: o.softcap === undefined ? 0 : 1,
    left: o.window?.left ?? UNBOUNDED,
    ...kernelScore(o, dm.d),
  };
  const dt = dtCode(i.q.dtype);
  const g1 = grid(ctx, blocks * sp.splits * dm.hkv * nb);
  ctx.rt.dispatch({
    pipeline: { shader: 'attention/decode_split.wgsl', defines: { Q_DT: dt, MAXD: maxd, BQ: tiles.bq, BK: tiles.bk } },
    bindings: [qw.b, kw.b, vw.b, lw.b, tw.b, pw.b],
    params: { binding: 8, data: packParams(DECODE_PARAMS, { ...common, groups: blocks * sp.splits * dm.hkv * nb, groups_x: g1.groupsX }) },
    workgroups: g1.workgroups,
  });
  const ow = windowOf(ctx, t.out, 6, b0 * dm.t * dm.hq * dm.dv, nb * dm.t * dm.hq * dm.dv);
  const lsw = windowOf(ctx, t.lse, 7, b0 * dm.hq * dm.t, nb * dm.hq * dm.t);
  const sw = i.sinks ? windowOf(ctx, i.sinks, 0, 0, dm.hq) : { b: { ...lw.b, binding: 0 }, base: 0 };
  const pr = windowOf(ctx, t.part, 5, b0 * perRec, nb * perRec);
  const groups = nb * dm.hq * dm.t;
  const g2 = grid(ctx, groups);
  ctx.rt.dispatch({
    pipeline: { shader: 'attention/decode_reduce.wgsl', defines: { Q_DT: dt } },
    bindings: [sw.b, lw.b, tw.b, pr.b, ow.b, lsw.b],
    params: { binding: 8, data: packParams(DECODE_PARAMS, { ...common, part_base: pr.base / 4, o_base: ow.base, lse_base: lsw.base, sink_base: sw.base, groups, groups_x: g2.groupsX }) },
    workgroups: g2.workgroups,
  });
}
