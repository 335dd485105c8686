import { z } from 'zod';
import type { KernelBackend } from '../../backend/interface.js';
import type { FloatDType } from '../../dtype.js';
import { OptionsError } from '../../errors.js';
import { rng } from '../../ops/random.js';
import type { ModelConfig } from '../config.js';
import { convertFloat } from '../convert.js';
import { LORA_TARGETS, disposeAdapters, targetDims, type LayerAdapters, type LoraAdapters, type LoraSettings } from './adapters.js';

export const loraSettingsOptions = z
  .object({
    r: z.number().int().positive().default(16),
    alpha: z.number().finite().positive().default(32),
    dropout: z.number().finite().min(0).lt(1).default(0),
    targets: z.array(z.enum(LORA_TARGETS)).min(1).default([...LORA_TARGETS]),
    rslora: z.boolean().default(false),
  })
  .strict();
export type LoraSettingsOptions = z.input<typeof loraSettingsOptions>;

/** Validated settings (the CLI's --lora-r / --lora-alpha / --targets); targets in canonical order, each once. */
export function loraSettings(options: LoraSettingsOptions = {}): LoraSettings {
  const p = loraSettingsOptions.safeParse(options);
  if (!p.success) throw new OptionsError(`[lora] settings: ${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message}`);
  const o = p.data;
  return { r: o.r, alpha: o.alpha, rslora: o.rslora, scale: o.rslora ? o.alpha / Math.sqrt(o.r) : o.alpha / o.r, dropout: o.dropout, targets: LORA_TARGETS.filter((t) => o.targets.includes(t)) };
}

/**
 * Fresh adapters as PEFT initialises them (init_lora_weights=True): A from kaiming_uniform
 * with a = √5, i.e. U(−1/√in, 1/√in), and B = 0, so the adapted model starts as the base
 * model. Seeded (mulberry32), so a run reproduces.
 */
export function initAdapters(c: ModelConfig, settings: LoraSettings, backend: KernelBackend, dtype: FloatDType, seed = 0): LoraAdapters {
  const layers: LayerAdapters[] = [];
  const adapters: LoraAdapters = { settings, dtype, layers };
  const r = rng(seed);
  try {
    for (let l = 0; l < c.numLayers; l++) {
      const la: LayerAdapters = {};
      layers.push(la);
      for (const t of settings.targets) {
        const d = targetDims(c, t);
        const bound = 1 / Math.sqrt(d.in);
        const a = new Float32Array(settings.r * d.in);
        for (let i = 0; i < a.length; i++) a[i] = (2 * r() - 1) * bound;
        const A = backend.tensor(convertFloat('f32', dtype, a), [settings.r, d.in], dtype);
        la[t] = { A, B: backend.zeros([d.out, settings.r], dtype) };
      }
    }
    return adapters;
  } catch (e) {
    disposeAdapters(adapters);
    throw e;
  }
}
