import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelBackend } from '../../backend/interface.js';
import { writeSafetensors, type TensorToWrite } from '../safetensors/index.js';
import type { LoraAdapters } from './adapters.js';
import { peftKey } from './peft.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, peftConfigFor } from './peft_config.js';

/**
 * Writes the adapters as PEFT's save_pretrained does: `dir`/adapter_model.safetensors with
 * HF key names (base_model.model.model.layers.N.<module>.lora_A/B.weight) in the adapters'
 * dtype, and adapter_config.json with the fields peft's LoraConfig reads. `baseModel` fills
 * base_model_name_or_path (peft needs it only to fetch the base itself).
 */
export async function writePeftAdapter(dir: string, adapters: LoraAdapters, backend: KernelBackend, baseModel: string | null = null): Promise<void> {
  const tensors: Record<string, TensorToWrite> = {};
  for (let l = 0; l < adapters.layers.length; l++) {
    for (const t of adapters.settings.targets) {
      const p = adapters.layers[l][t];
      if (!p) continue;
      tensors[peftKey(l, t, 'A')] = { dtype: p.A.dtype, shape: p.A.shape, data: await backend.read(p.A) };
      tensors[peftKey(l, t, 'B')] = { dtype: p.B.dtype, shape: p.B.shape, data: await backend.read(p.B) };
    }
  }
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
  await writeFile(join(dir, ADAPTER_CONFIG), JSON.stringify(peftConfigFor(adapters.settings, baseModel), null, 2) + '\n');
}
