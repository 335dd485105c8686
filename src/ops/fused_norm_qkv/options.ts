import { z } from 'zod';
import { i32Int, positiveNormalF32 } from '../check.js';
import { ropeOptions } from '../rope/options.js';

/**
 * eps as rms_norm's; the rope op's own option schema under `rope` (not a copy: every rope
 * option — style, rotaryDim, base, scaling — means what it means there) and the head counts
 * of q and k (`heads`), both only with a positions tensor. The head dim is Nq / heads.q; it
 * is not derived from the rope options, whose rotaryDim may be smaller than the head.
 * hostCachePositions / hostBlockTable make an invalid cache slot a typed error on the host
 * (cache.ts), as kv_cache_copy's host copies do.
 */
export const fusedNormQkvOptions = z
  .object({
    eps: positiveNormalF32().default(1e-6),
    heads: z.object({ q: z.number().int().positive(), kv: z.number().int().positive() }).strict().optional(),
    rope: ropeOptions.optional(),
    /** With a cache write: host copies of cachePositions and blockTable (kv_cache_copy's hostPositions / hostBlockTable). */
    hostCachePositions: z.array(i32Int()).optional(),
    hostBlockTable: z.array(z.array(i32Int())).optional(),
  })
  .strict();
export type FusedNormQkvOptions = z.input<typeof fusedNormQkvOptions>;
export type NormQkvOpts = z.output<typeof fusedNormQkvOptions>;
