import { BYTES } from '../../../dtype.js';
import { kvCopyDims, type KvCopyDims } from '../../../ops/kv_cache_copy/dims.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { grid, rowChunks, windowOf, type LaunchContext, type Launcher } from '../launch.js';
import { dtCode } from '../pipelines.js';

/** Params of wgsl/attention/kv_cache_copy.wgsl. */
export const KV_COPY_PARAMS = defineParams([
  ['groups', 'u32'],
  ['groups_x', 'u32'],
  ['tiles', 'u32'],
  ['tile', 'u32'],
  ['snew', 'u32'],
  ['hkv', 'u32'],
  ['d', 'u32'],
  ['dv', 'u32'],
  ['paged', 'u32'],
  ['smax', 'u32'],
  ['block_size', 'u32'],
  ['num_blocks', 'u32'],
  ['max_blocks', 'u32'],
  ['capacity', 'u32'],
  ['k_base', 'u32'],
  ['v_base', 'u32'],
  ['kc_base', 'u32'],
  ['vc_base', 'u32'],
  ['pos_base', 'u32'],
  ['table_base', 'u32'],
]);

/** Octets (8 elements) a workgroup copies: 16 per invocation of 64 — enough to hide a sequence check that reads its block-table entries. */
const OCTETS_PER_GROUP = 1024;

/** Tokens per workgroup and workgroups per sequence. */
export function kvTiles(dm: KvCopyDims): { tile: number; tiles: number } {
  const perTok = (dm.hkv * (dm.d + dm.dv)) / 8;
  const tile = Math.max(1, Math.min(dm.snew, Math.floor(OCTETS_PER_GROUP / perTok)));
  return { tile, tiles: Math.ceil(dm.snew / tile) };
}

/**
 * kv_cache_copy on WebGPU ('portable': a copy has nothing for subgroups to do): one dispatch
 * per chunk of whole sequences within maxStorageBufferBindingSize. A paged cache is bound
 * whole (any sequence may write any block), so it must fit one binding. The caches are the
 * inputs themselves, written in place.
 */
export const kvCacheCopyLauncher: Launcher = {
  tiers: () => ['portable'],
  launch(ctx, _tier, i) {
    const dm = kvCopyDims(i);
    const es = BYTES[i.k.dtype];
    const ec = BYTES[i.kCache.dtype];
    const hd = Math.max(dm.d, dm.dv);
    if (dm.paged) rowChunks(ctx, 1, dm.numBlocks * dm.blockSize * dm.hkv * hd * ec);
    const perSeq = Math.max(dm.snew * dm.hkv * hd * es, dm.paged ? 0 : dm.hkv * dm.smax * hd * ec);
    for (const [b0, b1] of rowChunks(ctx, dm.batch, perSeq)) run(ctx, dm, i, b0, b1);
    return { kCache: i.kCache, vCache: i.vCache };
  },
};

function run(ctx: LaunchContext, dm: KvCopyDims, i: Record<string, Tensor>, b0: number, b1: number): void {
  const nb = b1 - b0;
  const tok = (hd: number) => dm.snew * dm.hkv * hd;
  const kw = windowOf(ctx, i.k, 0, b0 * tok(dm.d), nb * tok(dm.d));
  const vw = windowOf(ctx, i.v, 1, b0 * tok(dm.dv), nb * tok(dm.dv));
  const span = (hd: number) => dm.hkv * dm.smax * hd;
  const kcw = dm.paged ? windowOf(ctx, i.kCache, 2, 0, i.kCache.size) : windowOf(ctx, i.kCache, 2, b0 * span(dm.d), nb * span(dm.d));
  const vcw = dm.paged ? windowOf(ctx, i.vCache, 3, 0, i.vCache.size) : windowOf(ctx, i.vCache, 3, b0 * span(dm.dv), nb * span(dm.dv));
  const pw = windowOf(ctx, i.positions, 4, b0, nb);
  // A contiguous cache has no table: the positions stand in (never read then).
  const tw = dm.paged ? windowOf(ctx, i.blockTable, 5, b0 * dm.maxBlocks, nb * dm.maxBlocks) : { b: { ...pw.b, binding: 5 }, base: 0 };
  const { tile, tiles } = kvTiles(dm);
  const g = grid(ctx, nb * tiles);
  ctx.rt.dispatch({
    pipeline: { shader: 'attention/kv_cache_copy.wgsl', defines: { S_DT: dtCode(i.k.dtype), C_DT: dtCode(i.kCache.dtype) } },
    bindings: [kw.b, vw.b, kcw.b, vcw.b, pw.b, tw.b],
    params: {
      binding: 8,
      data: packParams(KV_COPY_PARAMS, {
        groups: nb * tiles,
        groups_x: g.groupsX,
        tiles,
        tile,
        snew: dm.snew,
        hkv: dm.hkv,
        d: dm.d,
        dv: dm.dv,
        paged: dm.paged ? 1 : 0,
        smax: dm.smax,
        block_size: dm.blockSize,
        num_blocks: dm.numBlocks,
        max_blocks: dm.maxBlocks,
        capacity: dm.capacity,
        k_base: kw.base,
        v_base: vw.base,
        kc_base: kcw.base,
        vc_base: vcw.base,
        pos_base: pw.base,
        table_base: tw.base,
      }),
    },
    workgroups: g.workgroups,
  });
}
