import { z } from 'zod';
import { OptionsError } from '../../errors.js';
import type { Cursor } from './data/loader.js';

/**
 * The training schedule: the learning rate of each optimizer step, and which micro-batches
 * (with which loss weights) make up each step under gradient accumulation.
 */

const cosineSchema = z
  .object({
    peakLr: z.number().positive().finite(),
    /** Optimizer steps of the whole run. */
    totalSteps: z.number().int().min(1),
    warmupSteps: z.number().int().min(0).optional(),
    /** Warm-up as a fraction of totalSteps, rounded up (TrainingArguments.get_warmup_steps). */
    warmupRatio: z.number().min(0).max(1).optional(),
    /** The floor as a fraction of peakLr (transformers' min_lr_rate); 0 decays to zero. */
    minLrRate: z.number().min(0).max(1).default(0),
    /** Cosine periods over the decay; 0.5 is a half cosine from peak to floor. */
    numCycles: z.number().positive().finite().default(0.5),
  })
  .refine((o) => o.warmupSteps === undefined || o.warmupRatio === undefined, 'expected warmupSteps or warmupRatio, not both')
  .refine((o) => (o.warmupSteps ?? 0) <= o.totalSteps, 'expected warmupSteps ≤ totalSteps');
export type CosineScheduleOptions = z.input<typeof cosineSchema>;

export interface LrSchedule {
  readonly warmupSteps: number;
  readonly totalSteps: number;
  /** The learning rate of optimizer step `step` (0-based: the step-th call of the optimizer), step in [0, totalSteps]. */
  lr(step: number): number;
}

/**
 * Linear warm-up, then cosine decay to a floor: transformers'
 * `get_cosine_with_min_lr_schedule_with_warmup` (`get_cosine_schedule_with_warmup` when
 * minLrRate = 0). With w warm-up and N total steps, step s gets peakLr · λ(s):
 *   s < w:  λ = s / max(1, w)
 *   else:   p = (s − w) / max(1, N − w),
 *           λ = max(0, (0.5 · (1 + cos(π · numCycles · 2 · p))) · (1 − minLrRate) + minLrRate)
 * As in transformers, λ is evaluated at the number of optimizer steps already taken, so the
 * first step of a warm-up runs at lr 0 and step N (past the last) would be the floor.
 */
export function cosineWithWarmup(options: CosineScheduleOptions): LrSchedule {
  const r = cosineSchema.safeParse(options);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new OptionsError(`[schedule] options: ${i.path.length ? `'${i.path.join('.')}' ` : ''}${i.message}`);
  }
  const o = r.data;
  const total = o.totalSteps;
  const warmup = o.warmupSteps ?? Math.ceil(total * (o.warmupRatio ?? 0));
  return {
    warmupSteps: warmup,
    totalSteps: total,
    lr(step: number): number {
      if (!Number.isInteger(step) || step < 0 || step > total) throw new OptionsError(`[schedule] step: expected an integer in [0, ${total}], got ${step}`);
      if (step < warmup) return (o.peakLr * step) / Math.max(1, warmup);
      const progress = (step - warmup) / Math.max(1, total - warmup);
      const cosine = 0.5 * (1 + Math.cos(Math.PI * o.numCycles * 2 * progress));
      return o.peakLr * Math.max(0, cosine * (1 - o.minLrRate) + o.minLrRate);
    },
  };
}

/** What accumulation needs of the data: batches per epoch and each batch's trained tokens (PackedLoader). */
export interface BatchSource {
  readonly batchesPerEpoch: number;
  trainedTokens(epoch: number, batch: number): number;
}

/** One optimizer step: its micro-batches and how their losses are weighted. */
export interface OptimizerStep {
  readonly step: number;
  readonly microBatches: readonly Cursor[];
  /** Trained tokens (labels ≠ −100) over all micro-batches of the step: the loss's denominator. */
  readonly trainedTokens: number;
  /** Scale of a micro-batch's summed token loss (cross_entropy reduction 'sum'): 1 / trainedTokens. */
  readonly sumLossScale: number;
  /** Or the weight of each micro-batch's mean loss (reduction 'mean'): its trained tokens / trainedTokens. */
  readonly meanLossWeights: readonly number[];
}

const accumSchema = z.object({ gradAccum: z.number().int().min(1), epochs: z.number().int().min(1) });

/**
 * Gradient accumulation: optimizer step k of an epoch takes micro-batches kG..kG+G−1 (the last
 * step of an epoch takes what is left, so no step spans two epochs and every epoch starts a
 * step: ceil(batches / G) steps an epoch, as transformers counts them). The step's loss is the
 * mean over every trained token of all its micro-batches — Σ token losses / Σ trained tokens —
 * not the mean of the micro-batches' means, which would weight a token of a short micro-batch
 * more (transformers' num_items_in_batch fix). The denominator is known before the first
 * backward because the packer counts trained tokens, so each micro-batch's backward is scaled
 * once and the accumulated gradient is the gradient of that mean.
 */
export class StepPlan {
  readonly gradAccum: number;
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;

  constructor(
    private readonly source: BatchSource,
    options: z.input<typeof accumSchema>,
  ) {
    const r = accumSchema.safeParse(options);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new OptionsError(`[schedule] accumulation options: '${i.path.join('.')}' ${i.message}`);
    }
    this.gradAccum = r.data.gradAccum;
    this.epochs = r.data.epochs;
    this.stepsPerEpoch = Math.ceil(source.batchesPerEpoch / this.gradAccum);
    this.totalSteps = this.epochs * this.stepsPerEpoch;
  }

  step(k: number): OptimizerStep {
    if (!Number.isInteger(k) || k < 0 || k >= this.totalSteps) throw new OptionsError(`[schedule] step: expected an integer in [0, ${this.totalSteps}), got ${k}`);
    const epoch = Math.floor(k / this.stepsPerEpoch);
    const first = (k % this.stepsPerEpoch) * this.gradAccum;
    const last = Math.min(first + this.gradAccum, this.source.batchesPerEpoch);
    const microBatches: Cursor[] = [];
    const tokens: number[] = [];
    for (let b = first; b < last; b++) {
      microBatches.push({ epoch, batch: b });
      tokens.push(this.source.trainedTokens(epoch, b));
    }
    const trainedTokens = tokens.reduce((a, n) => a + n, 0);
    // Every packed batch has a trained token (the dataset drops records without one).
    if (trainedTokens === 0) throw new OptionsError(`[schedule] step ${k}: its micro-batches have no trained token`);
    return { step: k, microBatches, trainedTokens, sumLossScale: 1 / trainedTokens, meanLossWeights: tokens.map((n) => n / trainedTokens) };
  }

  /** The cursor that starts step k; k = totalSteps gives the end ({epochs, 0}), what a final checkpoint stores. */
  cursorOf(k: number): Cursor {
    if (!Number.isInteger(k) || k < 0 || k > this.totalSteps) throw new OptionsError(`[schedule] step: expected an integer in [0, ${this.totalSteps}], got ${k}`);
    return { epoch: Math.floor(k / this.stepsPerEpoch), batch: (k % this.stepsPerEpoch) * this.gradAccum };
  }

  /** The step a cursor starts; checkpoints are taken between steps, so a cursor inside one is an error. */
  stepAt(cursor: Cursor): number {
    if (cursor.batch % this.gradAccum !== 0 || cursor.batch >= this.source.batchesPerEpoch) {
      throw new OptionsError(`[schedule] cursor (${cursor.epoch}, ${cursor.batch}): not the first micro-batch of an optimizer step (gradAccum ${this.gradAccum})`);
    }
    return cursor.epoch * this.stepsPerEpoch + cursor.batch / this.gradAccum;
  }
}
