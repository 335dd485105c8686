import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelLoadError } from '../../errors.js';
import type { LlamaModel } from '../llama.js';
import type { LoaderState } from './data/loader.js';
import { Checkpoint, writeSafetensors } from '../safetensors/index.js';
import { loraAdamWOptions } from './adamw.js';
import { disposeAdapters } from './adapters.js';
import { readPeftAdapter } from './peft.js';
import { LoraTrainer } from './trainer.js';

export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'trainer_state.json';

const stateSchema = z
  .object({
    format: z.literal('pmetal-lora-checkpoint'),
    version: z.literal(1),
    /** Optimizer steps the trainer has taken (it also seeds the dropout masks). */
    step: z.number().int().min(0),
    optimizerStep: z.number().int().min(0),
    optimizer: loraAdamWOptions,
    maxGradNorm: z.number().finite().positive().optional(),
    /** Where the run is in its data (PackedLoader.state): checked by PackedLoader.resume, which knows the data. */
    data: z.unknown().optional(),
  })
  .strict();
type TrainerState = z.infer<typeof stateSchema>;

/**
 * A resumable checkpoint: the adapters as a PEFT folder (loadable by peft as it is), the AdamW
 * moments (and f32 masters) in optimizer.safetensors, and trainer_state.json with the step
 * counts and hyperparameters — everything a resumed run needs to continue bit for bit.
 */
export async function saveCheckpoint(trainer: LoraTrainer, dir: string, data?: LoaderState): Promise<void> {
  await trainer.save(dir);
  const opt = await trainer.optimizer.exportState();
  await writeSafetensors(join(dir, OPTIMIZER_FILE), opt.tensors, { format: 'pt' });
  const state: TrainerState = {
    format: 'pmetal-lora-checkpoint',
    version: 1,
    step: trainer.stepsTaken,
    optimizerStep: opt.step,
    optimizer: trainer.optimizer.options,
    ...(trainer.maxGradNorm !== undefined ? { maxGradNorm: trainer.maxGradNorm } : {}),
    ...(data ? { data } : {}),
  };
  await writeFile(join(dir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}

/** trainer_state.json of a checkpoint folder, validated. */
async function readState(dir: string): Promise<TrainerState> {
  const statePath = join(dir, STATE_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(statePath, 'utf8'));
  } catch (e) {
    throw new ModelLoadError(`[lora] ${statePath}: not readable as JSON (${(e as Error).message})`, { file: statePath, cause: e });
  }
  const p = stateSchema.safeParse(json);
  if (!p.success) throw new ModelLoadError(`[lora] ${statePath}: ${p.error.issues[0].path.join('.') || '(root)'}: ${p.error.issues[0].message}`, { file: statePath });
  return p.data;
}

/**
 * The data state saveCheckpoint stored (unvalidated: hand it to PackedLoader.resume with the
 * file name, which checks it against this run's data), and the file it came from.
 */
export async function checkpointDataState(dir: string): Promise<{ state: unknown; file: string }> {
  return { state: (await readState(dir)).data, file: join(dir, STATE_FILE) };
}

/** A trainer continuing from saveCheckpoint's folder, on `model` (the same base model). */
export async function resumeTrainer(dir: string, model: LlamaModel): Promise<LoraTrainer> {
  const s = await readState(dir);
  const adapters = await readPeftAdapter(dir, model.config, model.backend, model.dtype);
  let trainer: LoraTrainer | undefined;
  const ck = await Checkpoint.openFile(join(dir, OPTIMIZER_FILE));
  try {
    trainer = new LoraTrainer(model, adapters, { optimizer: s.optimizer, ...(s.maxGradNorm !== undefined ? { maxGradNorm: s.maxGradNorm } : {}) });
    const tensors: Record<string, { dtype: string; shape: readonly number[]; data: ArrayLike<number> }> = {};
    for (const name of ck.names()) {
      const t = await ck.read(name, { dtypes: ['F32'] });
      tensors[name] = { dtype: t.dtype, shape: ck.entry(name).shape, data: t.data as Float32Array };
    }
    trainer.optimizer.importState(s.optimizerStep, tensors);
    trainer.restoreStepCount(s.step);
    return trainer;
  } catch (e) {
    if (trainer) trainer.dispose();
    else disposeAdapters(adapters);
    throw e;
  } finally {
    await ck.close();
  }
}
