import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ModelLoadError } from '../errors.js';
import { ropeOptions } from '../ops/rope/options.js';
import { ropeFields, ropeFromConfig, RopeConfigIssue, type RopeConfig } from './rope_config.js';

/**
 * config.json of the Llama family → one normalised description every loader and forward pass
 * reads. Each architecture is a small difference from Llama, stated once here:
 *   llama   attention_bias (q, k, v and o), mlp_bias, llama3 rope scaling
 *   qwen2   q, k, v biases always, no o bias; optional sliding window on layers ≥ max_window_layers
 *   qwen3   RMSNorm over each head of q and k before rope (q_norm / k_norm); attention_bias
 *   mistral one sliding window on every layer
 */

export const ARCHITECTURES = ['llama', 'qwen2', 'qwen3', 'mistral'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface ModelConfig {
  readonly arch: Architecture;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly rope: RopeConfig;
  readonly maxPositions: number;
  readonly tieWordEmbeddings: boolean;
  /** Biases on q, k, v projections; on o. */
  readonly qkvBias: boolean;
  readonly oBias: boolean;
  readonly mlpBias: boolean;
  /** Qwen3: RMSNorm of head_dim over every q and k head, before rope. */
  readonly qkNorm: boolean;
  /** Per layer: HF's sliding_window W (a query sees itself and the W − 1 keys before it), or null for full attention. */
  readonly layerWindows: readonly (number | null)[];
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  /** The dtype config.json says the weights were saved in (informative; the file's dtypes rule). */
  readonly savedDtype: string | null;
  /** MLX affine quantization (mlx_lm's "quantization": {group_size, bits}) of the weights that carry scales. */
  readonly quantization: { readonly groupSize: 32 | 64 | 128; readonly bits: 4 | 8 } | null;
}

const posInt = z.number().int().positive();
const tokenId = z.number().int().nonnegative();
const base = z
  .object({
    model_type: z.string(),
    vocab_size: posInt,
    hidden_size: posInt,
    intermediate_size: posInt,
    num_hidden_layers: posInt,
    num_attention_heads: posInt,
    num_key_value_heads: posInt.nullable().optional(),
    head_dim: posInt.nullable().optional(),
    hidden_act: z.string().optional(),
    rms_norm_eps: z.number().finite().positive().optional(),
    max_position_embeddings: posInt.optional(),
    tie_word_embeddings: z.boolean().optional(),
    attention_bias: z.boolean().optional(),
    mlp_bias: z.boolean().optional(),
    sliding_window: posInt.nullable().optional(),
    use_sliding_window: z.boolean().optional(),
    max_window_layers: z.number().int().nonnegative().optional(),
    layer_types: z.array(z.string()).nullable().optional(),
    bos_token_id: tokenId.nullable().optional(),
    eos_token_id: z.union([tokenId, z.array(tokenId)]).nullable().optional(),
    torch_dtype: z.string().nullable().optional(),
    dtype: z.string().nullable().optional(),
    ...ropeFields,
    quantization: z
      .object({ group_size: z.union([z.literal(32), z.literal(64), z.literal(128)]), bits: z.union([z.literal(4), z.literal(8)]) })
      .passthrough()
      .nullable()
      .optional(),
  })
  .passthrough();
type Raw = z.infer<typeof base>;

/** HF's per-architecture defaults for the fields a config.json may leave out. */
const DEFAULTS: Record<Architecture, { eps: number; theta: number }> = {
  llama: { eps: 1e-6, theta: 10000 },
  qwen2: { eps: 1e-6, theta: 10000 },
  qwen3: { eps: 1e-6, theta: 10000 },
  mistral: { eps: 1e-6, theta: 10000 },
};

export async function loadConfig(path: string): Promise<ModelConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ModelLoadError(`[config] ${path}: cannot read (${(e as Error).message})`, { file: path, cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(`[config] ${path}: not valid JSON (${(e as Error).message})`, { file: path, cause: e });
  }
  return parseConfig(raw, path);
}

/** Validates a parsed config.json; `file` names it in every error. */
export function parseConfig(raw: unknown, file: string): ModelConfig {
  const err = (what: string) => new ModelLoadError(`[config] ${file}: ${what}`, { file });
  const p = base.safeParse(raw);
  if (!p.success) {
    const issue = p.error.issues[0];
    throw err(`${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  const c = p.data;
  if (!(ARCHITECTURES as readonly string[]).includes(c.model_type)) {
    throw err(`model_type "${c.model_type}" is not supported (expected one of ${ARCHITECTURES.join(', ')})`);
  }
  const arch = c.model_type as Architecture;
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw err(`hidden_act "${act}": expected "silu" (SwiGLU MLP)`);
  const numKvHeads = c.num_key_value_heads ?? c.num_attention_heads;
  if (c.num_attention_heads % numKvHeads !== 0) throw err(`num_attention_heads ${c.num_attention_heads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  const headDim = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  if (!Number.isInteger(headDim)) throw err(`head_dim is absent and hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`);
  if (headDim % 2 !== 0) throw err(`head_dim ${headDim}: expected an even number (rotary pairs)`);
  const d = DEFAULTS[arch];
  const rope = ropeFromConfig(c, d.theta, c.max_position_embeddings);
  if (rope instanceof RopeConfigIssue) throw err(rope.message);
  // The rope op's own validation (finite frequencies, attention factor range) at load time, not at the first forward.
  const ro = ropeOptions.safeParse(rope.options);
  if (!ro.success) throw err(`rope: ${ro.error.issues[0].path.join('.')}: ${ro.error.issues[0].message}`);
  const eos = c.eos_token_id;
  return {
    arch,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps ?? d.eps,
    rope,
    maxPositions: c.max_position_embeddings ?? 2048,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    qkvBias: arch === 'qwen2' ? true : (c.attention_bias ?? false),
    oBias: arch === 'qwen2' ? false : (c.attention_bias ?? false),
    mlpBias: arch === 'llama' ? (c.mlp_bias ?? false) : false,
    qkNorm: arch === 'qwen3',
    layerWindows: layerWindows(arch, c, err),
    bosTokenId: c.bos_token_id ?? null,
    eosTokenIds: eos === null || eos === undefined ? [] : Array.isArray(eos) ? eos : [eos],
    savedDtype: c.torch_dtype ?? c.dtype ?? null,
    quantization: c.quantization ? { groupSize: c.quantization.group_size, bits: c.quantization.bits } : null,
  };
}

/**
 * Which layers slide. transformers 5 writes `layer_types` (sliding_attention | full_attention)
 * and it is authoritative; older files: Mistral slides every layer when sliding_window is set;
 * Qwen2/3 only with use_sliding_window, on layers i ≥ max_window_layers (HF's rule).
 */
function layerWindows(arch: Architecture, c: Raw, err: (w: string) => ModelLoadError): (number | null)[] {
  const n = c.num_hidden_layers;
  const w = c.sliding_window ?? null;
  if (c.layer_types) {
    if (c.layer_types.length !== n) throw err(`layer_types has ${c.layer_types.length} entries, expected num_hidden_layers = ${n}`);
    return c.layer_types.map((t, i) => {
      if (t === 'full_attention') return null;
      if (t !== 'sliding_attention') throw err(`layer_types[${i}] "${t}": expected full_attention or sliding_attention`);
      if (w === null) throw err(`layer_types[${i}] is sliding_attention but sliding_window is not set`);
      return w;
    });
  }
  if (arch === 'mistral' || arch === 'llama') return Array.from({ length: n }, () => (arch === 'mistral' ? w : null));
  if (!c.use_sliding_window || w === null) return Array.from({ length: n }, () => null);
  const from = c.max_window_layers ?? n;
  return Array.from({ length: n }, (_, i) => (i >= from ? w : null));
}
