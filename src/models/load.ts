import { join } from 'node:path';
import { z } from 'zod';
import type { KernelBackend } from '../backend/interface.js';
import { OptionsError } from '../errors.js';
import { loadPeftAdapter } from './adapter.js';
import { loadConfig } from './config.js';
import { ggufConfig } from './gguf/config.js';
import { GgufFile } from './gguf/reader.js';
import { GgufSource } from './gguf/source.js';
import { LlamaModel } from './llama.js';
import { Checkpoint } from './safetensors/checkpoint.js';
import { loadWeights, type WeightSource } from './weights.js';
import type { ModelConfig } from './config.js';

export const loadModelOptions = z
  .object({
    /** Compute dtype of weights and activations on the backend (weights are converted on load). */
    dtype: z.enum(['f32', 'f16', 'bf16']).default('f32'),
    /** A PEFT LoRA adapter folder, merged into the weights on load. */
    adapter: z.string().min(1).optional(),
  })
  .strict();
export type LoadModelOptions = z.input<typeof loadModelOptions>;

/**
 * A Hugging Face model folder (config.json + safetensors, single or sharded), or a GGUF file
 * (a path ending in .gguf), onto `backend`.
 */
export async function loadModel(dir: string, backend: KernelBackend, options: LoadModelOptions = {}): Promise<LlamaModel> {
  const p = loadModelOptions.safeParse(options);
  if (!p.success) throw new OptionsError(`[model] options: ${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}`);
  const adapter = p.data.adapter === undefined ? undefined : await loadPeftAdapter(p.data.adapter);
  if (dir.endsWith('.gguf')) {
    const g = await GgufFile.open(dir);
    try {
      const config = await ggufConfig(g, g.tensors.get('token_embd.weight')?.shape[0]);
      const weights = await loadWeights(new GgufSource(g), config, backend, p.data.dtype, adapter);
      return new LlamaModel(config, backend, weights, p.data.dtype);
    } finally {
      await g.close();
    }
  }
  const config = await loadConfig(join(dir, 'config.json'));
  const ck = await Checkpoint.openDir(dir);
  try {
    const weights = await loadWeights(ck, config, backend, p.data.dtype, adapter);
    return new LlamaModel(config, backend, weights, p.data.dtype);
  } finally {
    await ck.close();
  }
}

/**
 * A model from a config and any WeightSource — tensors held in memory, another store, or
 * generated ones (the model bench's random weights) — the way loadModel builds one from a
 * folder: every tensor the config implies is read once, shape-checked and uploaded.
 */
export async function modelFromSource(source: WeightSource, config: ModelConfig, backend: KernelBackend, options: Omit<LoadModelOptions, 'adapter'> = {}): Promise<LlamaModel> {
  const p = loadModelOptions.omit({ adapter: true }).safeParse(options);
  if (!p.success) throw new OptionsError(`[model] options: ${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}`);
  return new LlamaModel(config, backend, await loadWeights(source, config, backend, p.data.dtype), p.data.dtype);
}
