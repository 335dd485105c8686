import { join } from 'node:path';
import type { KernelBackend } from '../../backend/interface.js';
import { isFloat, type FloatDType } from '../../dtype.js';
import { ModelLoadError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import type { ModelConfig } from '../config.js';
import { convertFloat } from '../convert.js';
import { Checkpoint } from '../safetensors/index.js';
import { TARGET_MODULE, disposeAdapters, targetDims, type LayerAdapters, type LoraAdapters, type LoraTarget } from './adapters.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, readPeftConfig, settingsFromPeft } from './peft_config.js';

/** PEFT's key of a target's A or B in layer l (what save_pretrained writes for a causal LM). */
export const peftKey = (l: number, t: LoraTarget, m: 'A' | 'B'): string => `base_model.model.model.layers.${l}.${TARGET_MODULE[t]}.lora_${m}.weight`;

/**
 * A PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) onto the
 * backend in the model's compute dtype: every targeted projection of every layer must be
 * there with its shape from config.json, and every tensor of the file must be one of them —
 * a missing or extra key, a wrong shape or dtype is a ModelLoadError naming file and tensor.
 */
export async function readPeftAdapter(dir: string, c: ModelConfig, backend: KernelBackend, dtype: FloatDType): Promise<LoraAdapters> {
  const cfgPath = join(dir, ADAPTER_CONFIG);
  const settings = settingsFromPeft(await readPeftConfig(cfgPath), cfgPath);
  const ck = await Checkpoint.openFile(join(dir, ADAPTER_WEIGHTS));
  const layers: LayerAdapters[] = [];
  const adapters: LoraAdapters = { settings, dtype, layers };
  try {
    const used = new Set<string>();
    const load = async (name: string, shape: number[], why: string): Promise<Tensor> => {
      used.add(name);
      if (!ck.has(name)) throw new ModelLoadError(`[peft] ${ck.source}: tensor "${name}" is missing (target_modules of ${ADAPTER_CONFIG} name this projection)`, { file: ck.source, tensor: name });
      const t = await ck.read(name, { shape, dtypes: ['F32', 'F16', 'BF16'], why });
      if (!isFloat(t.dtype)) throw new ModelLoadError(`[peft] ${ck.source}: tensor "${name}": expected a float dtype, got ${t.dtype}`, { file: ck.source, tensor: name });
      return backend.tensor(convertFloat(t.dtype, dtype, t.data), shape, dtype);
    };
    for (let l = 0; l < c.numLayers; l++) {
      const la: LayerAdapters = {};
      layers.push(la);
      for (const t of settings.targets) {
        const d = targetDims(c, t);
        const A = await load(peftKey(l, t, 'A'), [settings.r, d.in], `r ${settings.r} × the ${d.in} inputs of ${TARGET_MODULE[t]}`);
        let B: Tensor;
        try {
          B = await load(peftKey(l, t, 'B'), [d.out, settings.r], `the ${d.out} outputs of ${TARGET_MODULE[t]} × r ${settings.r}`);
        } catch (e) {
          A.dispose();
          throw e;
        }
        la[t] = { A, B };
      }
    }
    for (const name of ck.names()) {
      if (!used.has(name)) throw new ModelLoadError(`[peft] ${ck.source}: tensor "${name}" is not an adapter of this ${c.arch} model as ${ADAPTER_CONFIG} describes it (${c.numLayers} layers, targets ${settings.targets.join(', ')})`, { file: ck.source, tensor: name });
    }
    return adapters;
  } catch (e) {
    disposeAdapters(adapters);
    throw e;
  } finally {
    await ck.close();
  }
}
