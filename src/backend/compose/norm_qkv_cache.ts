import type { KvCopyDims } from '../../ops/kv_cache_copy/dims.js';
import type { Tensor } from '../../tensor.js';
import { viewAs } from '../view.js';

/**
 * kv_cache_copy's inputs for fused_norm_qkv's cache write where a backend runs it as that op's
 * launch: the op's k and v outputs viewed as [B, Snew, Hkv, D] / [.., Dv], its caches, start
 * positions (`cachePositions`) and block table (the op's check ran kv_cache_copy's checks on
 * them under its own names).
 */
export function cacheCopyInputs(i: Record<string, Tensor>, dm: KvCopyDims, k: Tensor, v: Tensor): Record<string, Tensor> {
  return {
    k: viewAs(k, [dm.batch, dm.snew, dm.hkv, dm.d]),
    v: viewAs(v, [dm.batch, dm.snew, dm.hkv, dm.dv]),
    kCache: i.kCache,
    vCache: i.vCache,
    positions: i.cachePositions,
    ...(i.blockTable ? { blockTable: i.blockTable } : {}),
  };
}
