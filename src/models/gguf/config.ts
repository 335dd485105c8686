import { ModelLoadError } from '../../errors.js';
import { parseConfig, type ModelConfig } from '../config.js';
import type { GgufFile, GgufValue } from './reader.js';

/**
 * GGUF metadata → the config.json fields parseConfig reads, so both formats share one
 * validation. llama.cpp's converter permutes the q/k rows of llama-architecture models so
 * that its "normal" rope (adjacent pairs) applies; with those weights as stored the rope op
 * runs in GPT-J style. Qwen2/Qwen3 are converted without the permutation (NeoX style).
 */
const ARCHS: Record<string, { modelType: string; style: 'neox' | 'gptj' }> = {
  llama: { modelType: 'llama', style: 'gptj' },
  qwen2: { modelType: 'qwen2', style: 'neox' },
  qwen3: { modelType: 'qwen3', style: 'neox' },
};

export function ggufConfig(g: GgufFile, vocabRows: number | undefined): ModelConfig {
  const fail = (what: string) => new ModelLoadError(`[gguf] ${g.path}: ${what}`, { file: g.path });
  const arch = g.metadata.get('general.architecture');
  if (typeof arch !== 'string' || !ARCHS[arch]) throw fail(`general.architecture ${JSON.stringify(arch)} is not supported (expected one of ${Object.keys(ARCHS).join(', ')})`);
  const num = (key: string, optional = false): number | undefined => {
    const v: GgufValue | undefined = g.metadata.get(`${arch}.${key}`);
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number') throw fail(`${arch}.${key}: expected a number, got ${JSON.stringify(v === undefined ? 'nothing' : typeof v)}`);
    return v;
  };
  if (g.tensors.has('rope_freqs.weight')) throw fail('rope_freqs.weight (llama3-style frequency factors baked into the file) is not supported yet');
  const tokens = g.metadata.get('tokenizer.ggml.tokens');
  const heads = num('attention.head_count')!;
  const hidden = num('embedding_length')!;
  const raw = {
    model_type: ARCHS[arch].modelType,
    vocab_size: num('vocab_size', true) ?? vocabRows ?? (Array.isArray(tokens) ? tokens.length : undefined),
    hidden_size: hidden,
    intermediate_size: num('feed_forward_length'),
    num_hidden_layers: num('block_count'),
    num_attention_heads: heads,
    num_key_value_heads: num('attention.head_count_kv', true) ?? heads,
    head_dim: num('attention.key_length', true) ?? hidden / heads,
    rms_norm_eps: num('attention.layer_norm_rms_epsilon'),
    rope_theta: num('rope.freq_base', true) ?? 10000,
    max_position_embeddings: num('context_length', true),
    tie_word_embeddings: !g.tensors.has('output.weight'),
    // Biases are in the file when they exist: whether the model has them is read off the tensors.
    attention_bias: arch !== 'qwen2' && g.tensors.has('blk.0.attn_q.bias'),
    sliding_window: num('attention.sliding_window', true) ?? null,
    bos_token_id: g.metadata.get('tokenizer.ggml.bos_token_id'),
    eos_token_id: g.metadata.get('tokenizer.ggml.eos_token_id'),
  };
  const c = parseConfig(raw, g.path);
  return { ...c, rope: { ...c.rope, options: { ...c.rope.options, style: ARCHS[arch].style } } };
}
