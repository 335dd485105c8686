import { z } from 'zod';
import { i32Int } from '../check.js';

/**
 * kv_cache_copy's options: optional host copies of the device `positions` and `blockTable`.
 * With them, a position or a used block outside the cache is a typed error on the host
 * (before anything is recorded); without them the device checks each sequence and an
 * invalid one writes nothing. They are the caller's copies: the kernels read the device data.
 */
export const kvCacheCopyOptions = z
  .object({
    /** Each sequence's start position (positions' values). */
    hostPositions: z.array(i32Int()).optional(),
    /** The block table's rows (blockTable's values; paged caches only, with hostPositions). */
    hostBlockTable: z.array(z.array(i32Int())).optional(),
  })
  .strict();
export type KvCacheCopyOptions = z.output<typeof kvCacheCopyOptions>;
