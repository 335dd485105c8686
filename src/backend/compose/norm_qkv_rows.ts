import type { KvCopyDims } from '../../ops/kv_cache_copy/dims.js';
import { defineParams } from '../params.js';

/**
 * What fused_norm_qkv's one-dispatch decode kernels share — wgsl/gemm/gemv_norm_qkv.wgsl and
 * msl/gemm/gemv_norm_qkv.metal: the row map of a weight and the cache write's Params fields.
 */

/**
 * One weight's row map (both kernels' headers): the groups (workgroups on webgpu, SIMD-groups
 * on metal) that cover its n rows at `per` rows a group, the rotated ones first — each holds
 * two rope pairs (a pair's two rows in one group) — then the plain rows, `per` consecutive ones
 * a group, plain row j being row (j / pl)·hd + rd + j % pl. Without rope (v, or no positions)
 * every row is plain: (hd, rd, pl) = (n, 0, n). `rope`: the heads of this weight, the head dim
 * and the rotary dim.
 */
export function normQkvSegment(n: number, per: number, rope?: { heads: number; d: number; rd: number }) {
  if (!rope) return { groups: Math.ceil(n / per), rot: 0, hd: Math.max(1, n), rd: 0, pl: Math.max(1, n) };
  const rot = Math.ceil((rope.heads * rope.rd) / 2 / 2);
  const plain = rope.heads * (rope.d - rope.rd);
  return { groups: rot + Math.ceil(plain / per), rot, hd: rope.d, rd: rope.rd, pl: Math.max(1, rope.d - rope.rd) };
}

/** The cache write's fields, last in both kernels' Params: kv_cache_copy's dims of the call. */
export const NORM_QKV_CACHE_PARAMS = defineParams([
  ['c_snew', 'u32'],
  ['c_hkv', 'u32'],
  ['c_d', 'u32'],
  ['c_dv', 'u32'],
  ['c_smax', 'u32'],
  ['c_block_size', 'u32'],
  ['c_num_blocks', 'u32'],
  ['c_max_blocks', 'u32'],
  ['c_capacity', 'u32'],
]);

/** Their values (zeros without a cache write: the kernels then never read them). */
export function normQkvCacheValues(cache: KvCopyDims | undefined) {
  return {
    c_snew: cache?.snew ?? 0,
    c_hkv: cache?.hkv ?? 0,
    c_d: cache?.d ?? 0,
    c_dv: cache?.dv ?? 0,
    c_smax: cache?.smax ?? 0,
    c_block_size: cache?.blockSize ?? 0,
    c_num_blocks: cache?.numBlocks ?? 0,
    c_max_blocks: cache?.maxBlocks ?? 0,
    c_capacity: cache?.capacity ?? 0,
  };
}
