import { parseConfig, type ModelConfig } from '../../src/models/config.js';

/**
 * The model bench's shapes, as the config.json each model ships with (Meta's
 * Llama-3.2-1B and Llama-3.1-8B, transformers ≤ 4 spelling), parsed by the loader's own
 * parseConfig — so the bench runs exactly what loadModel would build from that folder.
 * `tiny` is test/fixtures/models/llama's shape (the tests run it on lavapipe).
 */
const LLAMA3_ROPE = { factor: 32.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192, rope_type: 'llama3' };

export const MODEL_PRESETS = {
  tiny: {
    model_type: 'llama',
    vocab_size: 320,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 16,
    rms_norm_eps: 1e-5,
    max_position_embeddings: 4096,
    rope_parameters: { rope_theta: 10000.0, factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 256, rope_type: 'llama3' },
    tie_word_embeddings: true,
    bos_token_id: 0,
    eos_token_id: 1,
  },
  'llama-1b': {
    model_type: 'llama',
    vocab_size: 128256,
    hidden_size: 2048,
    intermediate_size: 8192,
    num_hidden_layers: 16,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 64,
    rms_norm_eps: 1e-5,
    max_position_embeddings: 131072,
    rope_theta: 500000.0,
    rope_scaling: LLAMA3_ROPE,
    tie_word_embeddings: true,
    bos_token_id: 128000,
    eos_token_id: 128001,
  },
  'llama-8b': {
    model_type: 'llama',
    vocab_size: 128256,
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 128,
    rms_norm_eps: 1e-5,
    max_position_embeddings: 131072,
    rope_theta: 500000.0,
    rope_scaling: { ...LLAMA3_ROPE, factor: 8.0 },
    tie_word_embeddings: false,
    bos_token_id: 128000,
    eos_token_id: 128001,
  },
} as const;

export type ModelPreset = keyof typeof MODEL_PRESETS;
export const MODEL_PRESET_NAMES = Object.keys(MODEL_PRESETS) as ModelPreset[];

/** The preset's config; `quant` adds mlx_lm's "quantization" entry (4-bit, groups of 64: mlx_lm's default). */
export function presetConfig(name: ModelPreset, quant?: 'mlx4'): ModelConfig {
  const raw = { ...MODEL_PRESETS[name], ...(quant === 'mlx4' ? { quantization: { group_size: 64, bits: 4 } } : {}) };
  return parseConfig(raw, `<${name}${quant ? `-${quant}` : ''} preset>`);
}
