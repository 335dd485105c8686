import { launcherVariant } from '../tuning.js';

/**
 * PMETAL_ROPE_QK_VARIANT (read at each launch; every variant gives the same bits, only the
 * launch count and the lanes a token gets differ; `pmetal bench --op rope --variants` times
 * them, the model bench's decode step shows the launches):
 *   fused (default)  q and k in one dispatch; a chunk of fewer than SMALL_TOKENS tokens (a
 *                    decode step) spreads each token's heads over up to 256 lanes, one head
 *                    per lane (rope_vec), so its loads go out in one round rather than one per
 *                    head a lane covers; larger chunks share each angle over 4 heads a lane;
 *   deep             one dispatch, always 4 heads a lane (the sizing of a lone rope before);
 *   split            q and k as two dispatches (the launch count before the fused call).
 */
export const ROPE_QK_VARIANTS = ['fused', 'deep', 'split'] as const;
export type RopeQkVariant = (typeof ROPE_QK_VARIANTS)[number];

export function ropeQkVariant(v?: string): RopeQkVariant {
  return launcherVariant('rope', 'PMETAL_ROPE_QK_VARIANT', ROPE_QK_VARIANTS, v);
}

/**
 * Below this many tokens in a chunk the grid (one workgroup per token) cannot fill a big GPU
 * (2 workgroups per SM of a 132-SM H100), so lanes go to heads rather than to sharing angles.
 */
export const SMALL_TOKENS = 264;
