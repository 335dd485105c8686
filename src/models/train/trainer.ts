import { z } from 'zod';
import type { LlamaModel } from '../llama.js';
import { packSequences } from '../batch.js';
import { OptionsError } from '../../errors.js';
import { LoraAdamW, type LoraAdamWOptions } from './adamw.js';
import { gradNormSq } from './clip.js';
import { disposeAdapters, disposeGrads, type LoraAdapters, type LoraGrads } from './adapters.js';
import { IGNORE, shiftedTargets } from './labels.js';
import { writePeftAdapter } from './peft_write.js';
import { recordLoraStep, type TrainExample } from './step.js';
import type { Tensor } from '../../tensor.js';

export const trainerOptions = z
  .object({
    /** AdamW's hyperparameters (adamw.ts), validated there. */
    optimizer: z.record(z.string(), z.unknown()).optional(),
    /** Clip the global gradient norm of every adapter together to this (clip.ts); none by default. */
    maxGradNorm: z.number().finite().positive().optional(),
  })
  .strict();
export type TrainerOptions = Omit<z.input<typeof trainerOptions>, 'optimizer'> & { optimizer?: LoraAdamWOptions };

export interface AccumulatedGrads {
  /** Mean cross-entropy over every counted target of all micro-batches. */
  readonly loss: number;
  readonly counted: number;
  readonly grads: LoraGrads;
}

/**
 * Adapters + their optimizer around a model: `step` takes one optimizer step's examples as
 * micro-batches (each packed into one forward/backward, gradients accumulated on the backend)
 * and applies AdamW. The loss of a step is the mean over all its counted targets, whatever
 * the split: micro-batch i's gradient is scaled by counted_i / counted_total.
 */
export class LoraTrainer {
  readonly optimizer: LoraAdamW;
  readonly maxGradNorm: number | undefined;
  #step = 0;

  /** Takes ownership of `adapters` (disposed with the trainer). */
  constructor(
    readonly model: LlamaModel,
    readonly adapters: LoraAdapters,
    options: TrainerOptions = {},
  ) {
    const p = trainerOptions.safeParse(options);
    if (!p.success) throw new OptionsError(`[lora] trainer options: ${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}`);
    this.maxGradNorm = p.data.maxGradNorm;
    this.optimizer = new LoraAdamW(model.backend, adapters, options.optimizer);
  }

  /** Forward + backward of every micro-batch, the gradients summed (the caller disposes them). */
  async accumulate(microBatches: readonly (readonly TrainExample[])[], seed = this.#step): Promise<AccumulatedGrads> {
    const r = this.#record(microBatches, seed);
    try {
      return { loss: await this.#loss(r), counted: r.counted, grads: r.grads };
    } catch (e) {
      disposeGrads(r.grads);
      throw e;
    } finally {
      for (const l of r.losses) l.tensor.dispose();
    }
  }

  /** Every micro-batch's forward and backward recorded, nothing read: the losses stay on the backend. */
  #record(microBatches: readonly (readonly TrainExample[])[], seed: number): { losses: { tensor: Tensor; count: number }[]; counted: number; grads: LoraGrads } {
    if (!Array.isArray(microBatches) || microBatches.length === 0) throw new OptionsError('[lora] micro-batches: expected a non-empty array of example arrays');
    const V = this.model.config.vocabSize;
    const counts = microBatches.map((mb, i) => {
      if (!Array.isArray(mb)) throw new OptionsError(`[lora] micro-batches[${i}]: expected an array of { ids, labels? }`);
      return shiftedTargets(packSequences(mb.map((e) => e?.ids), V), mb.map((e) => e.labels), V).counted;
    });
    const total = counts.reduce((a, n) => a + n, 0);
    if (total === 0) throw new OptionsError(`[lora] labels: no target is counted in any micro-batch (every shifted label is ${IGNORE})`);
    let grads: LoraGrads | undefined;
    const losses: { tensor: Tensor; count: number }[] = [];
    try {
      for (let i = 0; i < microBatches.length; i++) {
        if (counts[i] === 0) continue; // contributes nothing (and its own mean would be 0/0)
        const r = recordLoraStep(this.model, this.adapters, microBatches[i], { seed: (seed * microBatches.length + i) >>> 0, lossScale: counts[i] / total }, grads);
        grads = r.grads;
        losses.push({ tensor: r.loss, count: counts[i] });
      }
    } catch (e) {
      if (grads) disposeGrads(grads);
      for (const l of losses) l.tensor.dispose();
      throw e;
    }
    return { losses, counted: total, grads: grads! };
  }

  /** The step's mean loss: the micro-batches' means read together (one wait), each weighted by its share of the targets, in order. */
  async #loss(r: { losses: { tensor: Tensor; count: number }[]; counted: number }): Promise<number> {
    const read = await Promise.all(r.losses.map((l) => this.model.backend.read(l.tensor)));
    let loss = 0;
    read.forEach((v, i) => (loss += (v[0] * r.losses[i].count) / r.counted));
    return loss;
  }

  /**
   * One optimizer step; `lr` overrides the optimizer's (a schedule, e.g. cosineWithWarmup(…).lr(steps taken)).
   * `gradNorm`: the global norm before clipping (when maxGradNorm is set); `skipped`: a non-finite gradient.
   * Forward, backward and AdamW are recorded before anything is read: the losses and AdamW's
   * flag come back in one wait.
   */
  async step(microBatches: readonly (readonly TrainExample[])[], lr?: number): Promise<{ loss: number; counted: number; gradNorm?: number; skipped: boolean }> {
    const b = this.model.backend;
    const a = this.#record(microBatches, this.#step);
    let flag: Tensor | undefined;
    let normSq: Tensor | undefined;
    try {
      // Clipping by the global norm stays on the backend: Σg² is summed there and each
      // adapter's AdamW call clips by it (fused_adamw_step's normSq), so nothing is read
      // before the step is recorded.
      if (this.maxGradNorm !== undefined) normSq = gradNormSq(b, a.grads);
      flag = this.optimizer.record(a.grads, lr, normSq && { normSq, maxGradNorm: this.maxGradNorm! });
      const [loss, f, sq] = await Promise.all([this.#loss(a), b.read(flag), normSq ? b.read(normSq) : undefined]);
      this.#step++;
      // A non-finite Σg² skipped every update (flag bit 1), as a non-finite gradient does.
      return { loss, counted: a.counted, ...(sq ? { gradNorm: Math.sqrt(sq[0]) } : {}), skipped: f[0] !== 0 };
    } finally {
      flag?.dispose();
      normSq?.dispose();
      for (const l of a.losses) l.tensor.dispose();
      disposeGrads(a.grads);
    }
  }

  /** Optimizer steps taken (they also seed each step's dropout masks). */
  get stepsTaken(): number {
    return this.#step;
  }

  /** For checkpoint.ts: a resumed trainer continues the step count (and so the dropout seeds). */
  restoreStepCount(step: number): void {
    if (!Number.isInteger(step) || step < 0) throw new OptionsError(`[lora] step: expected an integer ≥ 0, got ${step}`);
    this.#step = step;
  }

  /** The adapters as a PEFT folder (adapter_model.safetensors + adapter_config.json). */
  save(dir: string, baseModel: string | null = null): Promise<void> {
    return writePeftAdapter(dir, this.adapters, this.model.backend, baseModel);
  }

  dispose(): void {
    this.optimizer.dispose();
    disposeAdapters(this.adapters);
  }
}
