import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { toFloat64 } from '../dtype.js';
import { ModelLoadError } from '../errors.js';
import { Checkpoint } from './safetensors/checkpoint.js';

/**
 * A PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors, Hugging Face key
 * names), for inference: each adapted weight becomes W + s·B·A, merged on the host in float64
 * before the weight is converted and uploaded, so generating with an adapter costs nothing per
 * token. Only what this merge reproduces exactly is accepted: plain LoRA on linear layers of
 * the decoder (no DoRA, no fan_in_fan_out, no trained biases or extra modules).
 */
const configSchema = z
  .object({
    peft_type: z.literal('LORA'),
    r: z.number().int().positive(),
    lora_alpha: z.number().finite().positive(),
    use_rslora: z.boolean().optional(),
    use_dora: z.literal(false).optional(),
    fan_in_fan_out: z.literal(false).optional(),
    bias: z.literal('none').optional(),
    modules_to_save: z.null().optional(),
    rank_pattern: z.record(z.string(), z.number()).optional(),
    alpha_pattern: z.record(z.string(), z.number()).optional(),
  })
  .passthrough();

const MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
// PEFT's saved names: the adapter name ("default") is dropped on save.
const KEY = /^base_model\.model\.(model\.layers\.\d+\.(?:self_attn|mlp)\.([a-z_]+))\.lora_([AB])\.weight$/;

export interface LoraAdapter {
  /** Base weight name (model.layers.L.self_attn.q_proj.weight) → its A [r, K], B [N, r] and scale. */
  readonly deltas: ReadonlyMap<string, { a: Float64Array; b: Float64Array; r: number; scale: number; aShape: readonly number[]; bShape: readonly number[] }>;
  readonly dir: string;
}

export async function loadPeftAdapter(dir: string): Promise<LoraAdapter> {
  const cfgPath = join(dir, 'adapter_config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(cfgPath, 'utf8'));
  } catch (e) {
    throw new ModelLoadError(`[adapter] ${cfgPath}: cannot read it as JSON (${(e as Error).message})`, { file: cfgPath, cause: e });
  }
  const p = configSchema.safeParse(raw);
  if (!p.success) {
    const i = p.error.issues[0];
    throw new ModelLoadError(`[adapter] ${cfgPath}: ${i.path.join('.')}: ${i.message} (plain LoRA adapters only)`, { file: cfgPath });
  }
  const c = p.data;
  if (Object.keys(c.rank_pattern ?? {}).length || Object.keys(c.alpha_pattern ?? {}).length) {
    throw new ModelLoadError(`[adapter] ${cfgPath}: rank_pattern / alpha_pattern are not supported (one r and lora_alpha for every module)`, { file: cfgPath });
  }
  const scale = c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r;
  const file = join(dir, 'adapter_model.safetensors');
  const ck = await Checkpoint.openFile(file);
  try {
    const halves = new Map<string, { A?: { data: Float64Array; shape: readonly number[] }; B?: { data: Float64Array; shape: readonly number[] } }>();
    for (const name of ck.names()) {
      const m = KEY.exec(name);
      if (!m || !MODULES.includes(m[2])) throw new ModelLoadError(`[adapter] ${file}: tensor "${name}" is not a LoRA A/B of a decoder linear layer (${MODULES.join(', ')})`, { file, tensor: name });
      const t = await ck.read(name, { dtypes: ['F32', 'F16', 'BF16'] });
      if (t.shape.length !== 2) throw new ModelLoadError(`[adapter] ${file}: tensor "${name}": expected a matrix, got shape [${t.shape.join(', ')}]`, { file, tensor: name });
      const h = halves.get(`${m[1]}.weight`) ?? {};
      h[m[3] as 'A' | 'B'] = { data: toFloat64(t.dtype, t.data), shape: t.shape };
      halves.set(`${m[1]}.weight`, h);
    }
    const deltas = new Map<string, { a: Float64Array; b: Float64Array; r: number; scale: number; aShape: readonly number[]; bShape: readonly number[] }>();
    for (const [base, h] of halves) {
      if (!h.A || !h.B) throw new ModelLoadError(`[adapter] ${file}: ${base}: lora_${h.A ? 'B' : 'A'} is missing`, { file, tensor: base });
      const r = h.A.shape[0];
      if (r !== c.r || h.B.shape[1] !== r) throw new ModelLoadError(`[adapter] ${file}: ${base}: A [${h.A.shape.join(', ')}] and B [${h.B.shape.join(', ')}] contradict r = ${c.r} in adapter_config.json`, { file, tensor: base });
      deltas.set(base, { a: h.A.data, b: h.B.data, r, scale, aShape: h.A.shape, bShape: h.B.shape });
    }
    return { deltas, dir };
  } finally {
    await ck.close();
  }
}

/**
 * W [N, K] + s·B·A in float64 (the merge), for the weight `name` read from `file`; A and B must
 * fit W — an adapter trained for another model is a typed error.
 */
export function mergeLora(adapter: LoraAdapter, name: string, shape: readonly number[], w: Float64Array): Float64Array {
  const d = adapter.deltas.get(name);
  if (!d) return w;
  const [N, K] = shape;
  if (d.aShape[1] !== K || d.bShape[0] !== N) {
    const file = join(adapter.dir, 'adapter_model.safetensors');
    throw new ModelLoadError(`[adapter] ${file}: ${name}: A [${d.aShape.join(', ')}] and B [${d.bShape.join(', ')}] do not fit the base weight [${N}, ${K}]`, { file, tensor: name });
  }
  const out = new Float64Array(w);
  for (let n = 0; n < N; n++)
    for (let j = 0; j < d.r; j++) {
      const bs = d.scale * d.b[n * d.r + j];
      if (bs === 0) continue;
      for (let k = 0; k < K; k++) out[n * K + k] += bs * d.a[j * K + k];
    }
  return out;
}
