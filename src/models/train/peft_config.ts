import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ModelLoadError } from '../../errors.js';
import { LORA_TARGETS, type LoraSettings, type LoraTarget } from './adapters.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/** PEFT module name → our target ('q_proj' → 'q'). */
const MODULE_TARGET: Record<string, LoraTarget> = Object.fromEntries(LORA_TARGETS.map((t) => [`${t}_proj`, t]));

const emptyRecord = z.record(z.string(), z.unknown()).refine((r) => Object.keys(r).length === 0, 'per-module overrides are not supported (expected {})');
const nullish = (what: string) => z.null().optional().describe(what);

/**
 * The fields of PEFT's LoraConfig this reader acts on; everything that would change the
 * meaning of the weights and that pmetal does not implement (DoRA, per-module ranks, a bias,
 * fan_in_fan_out, layer subsets, modules_to_save) must be off, so such an adapter is refused
 * by name rather than applied wrongly. Unknown fields (PEFT adds some per release) pass.
 */
export const peftConfigSchema = z
  .object({
    peft_type: z.literal('LORA'),
    r: z.number().int().positive(),
    lora_alpha: z.number().finite().positive(),
    lora_dropout: z.number().finite().min(0).lt(1).default(0),
    target_modules: z.array(z.string()).min(1, 'expected at least one module'),
    use_rslora: z.boolean().default(false),
    use_dora: z.literal(false).default(false),
    bias: z.literal('none').default('none'),
    fan_in_fan_out: z.literal(false).default(false),
    rank_pattern: emptyRecord.default({}),
    alpha_pattern: emptyRecord.default({}),
    layers_to_transform: nullish('a layer subset is not supported'),
    modules_to_save: nullish('modules_to_save is not supported'),
    task_type: z.string().nullish(),
  })
  .passthrough();
export type PeftConfig = z.infer<typeof peftConfigSchema>;

/** Our settings from a PEFT config: targets by name, scale alpha/r (alpha/√r with rsLoRA). */
export function settingsFromPeft(cfg: PeftConfig, file: string): LoraSettings {
  const targets = cfg.target_modules.map((m) => {
    const t = MODULE_TARGET[m];
    if (!t) throw new ModelLoadError(`[peft] ${file}: target_modules: "${m}" is not a LoRA target pmetal knows (expected some of ${Object.keys(MODULE_TARGET).join(', ')})`, { file });
    return t;
  });
  return {
    r: cfg.r,
    alpha: cfg.lora_alpha,
    rslora: cfg.use_rslora,
    scale: cfg.use_rslora ? cfg.lora_alpha / Math.sqrt(cfg.r) : cfg.lora_alpha / cfg.r,
    dropout: cfg.lora_dropout,
    targets: LORA_TARGETS.filter((t) => targets.includes(t)),
  };
}

export async function readPeftConfig(path: string): Promise<PeftConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new ModelLoadError(`[peft] ${path}: not readable as JSON (${(e as Error).message})`, { file: path, cause: e });
  }
  const p = peftConfigSchema.safeParse(json);
  if (!p.success) {
    const i = p.error.issues[0];
    throw new ModelLoadError(`[peft] ${path}: ${i.path.join('.') || '(root)'}: ${i.message}`, { file: path });
  }
  return p.data;
}

/**
 * PEFT's config for our settings, with the fields PEFT itself writes (the fixtures' adapter_config.json):
 * enough for peft's LoraConfig to load, every value one pmetal's reader accepts.
 */
export function peftConfigFor(s: LoraSettings, baseModel: string | null): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: s.alpha,
    lora_dropout: s.dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: s.r,
    rank_pattern: {},
    revision: null,
    target_modules: s.targets.map((t) => `${t}_proj`),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: s.rslora,
  };
}
