import { kvCopyDims } from '../../../ops/kv_cache_copy/dims.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix } from './common.js';

/** KvCopyParams in msl/attention/kv_cache_copy.metal. */
export const KV_COPY_METAL_PARAMS = defineParams([
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
]);

/** Elements a threadgroup copies: 32 per thread of 256. */
const ELEMS_PER_GROUP = 8192;

/** kv_cache_copy on Metal (metal3): one dispatch, threadgroups (token tile, sequence); the caches are written in place. */
export const kvCacheCopyMetalLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i) {
    const dm = kvCopyDims(i);
    const perTok = dm.hkv * (dm.d + dm.dv);
    const tile = Math.max(1, Math.min(dm.snew, Math.floor(ELEMS_PER_GROUP / perTok)));
    ctx.dispatch({
      library: 'attention/kv_cache_copy.metal',
      fn: `kv_cache_copy_${dtSuffix(i.k.dtype)}_${dtSuffix(i.kCache.dtype)}`,
      buffers: [
        { index: 0, tensor: i.k },
        { index: 1, tensor: i.v },
        { index: 2, tensor: i.kCache },
        { index: 3, tensor: i.vCache },
        { index: 4, tensor: i.positions },
        // A contiguous cache has no table: the positions stand in (never read then).
        { index: 5, tensor: i.blockTable ?? i.positions },
      ],
      bytes: [
        {
          index: 8,
          data: packParams(KV_COPY_METAL_PARAMS, {
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
          }),
        },
      ],
      grid: [Math.ceil(dm.snew / tile), dm.batch, 1],
      threadgroup: [256, 1, 1],
    });
    return { kCache: i.kCache, vCache: i.vCache };
  },
};
