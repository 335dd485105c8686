import { z } from 'zod';
import { OptionsError } from '../../errors.js';

export const cosineScheduleOptions = z
  .object({
    lr: z.number().finite().positive(),
    warmupSteps: z.number().int().min(0).default(0),
    totalSteps: z.number().int().positive(),
    /** The floor the cosine decays to (transformers' get_cosine_schedule_with_warmup: 0). */
    minLr: z.number().finite().min(0).default(0),
  })
  .strict()
  .refine((o) => o.warmupSteps <= o.totalSteps, { message: 'expected warmupSteps ≤ totalSteps', path: ['warmupSteps'] })
  .refine((o) => o.minLr <= o.lr, { message: 'expected minLr ≤ lr', path: ['minLr'] });
export type CosineScheduleOptions = z.input<typeof cosineScheduleOptions>;

/**
 * Linear warm-up then cosine decay, as transformers' get_cosine_schedule_with_warmup (its
 * step index s = optimizer steps already taken, 0-based): s < W → lr·s/W; then
 * minLr + (lr − minLr)·½(1 + cos(π·(s − W)/(N − W))), reaching minLr at s = N.
 */
export function cosineSchedule(options: CosineScheduleOptions): (step: number) => number {
  const p = cosineScheduleOptions.safeParse(options);
  if (!p.success) throw new OptionsError(`[lora] schedule: ${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}`);
  const { lr, warmupSteps: W, totalSteps: N, minLr } = p.data;
  return (s: number) => {
    if (!Number.isInteger(s) || s < 0) throw new OptionsError(`[lora] schedule: step: expected an integer ≥ 0, got ${s}`);
    if (s < W) return (lr * s) / W;
    const progress = N === W ? 1 : Math.min(1, (s - W) / (N - W));
    return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}
