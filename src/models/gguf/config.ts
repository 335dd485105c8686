import { ModelLoadError } from '../../errors.js';
import { parseConfig, type ModelConfig } from '../config.js';
import { llama3FromFactors } from './llama3_rope.js';
import type { GgufFile, GgufValue } from './reader.js';

/** Llama 3 rope scaling as llama.cpp stores it (read into the config, not a weight). */
export const ROPE_FREQS = 'rope_freqs.weight';

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

export async function ggufConfig(g: GgufFile, vocabRows: number | undefined): Promise<ModelConfig> {
  const fail = (what: string) => new ModelLoadError(`[gguf] ${g.path}: ${what}`, { file: g.path });
  const arch = g.metadata.get('general.architecture');
  if (typeof arch !== 'string' || !ARCHS[arch]) throw fail(`general.architecture ${JSON.stringify(arch)} is not supported (expected one of ${Object.keys(ARCHS).join(', ')})`);
  const num = (key: string, optional = false): number | undefined => {
    const v: GgufValue | undefined = g.metadata.get(`${arch}.${key}`);
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number') throw fail(`${arch}.${key}: expected a number, got ${JSON.stringify(v === undefined ? 'nothing' : typeof v)}`);
    return v;
  };
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
  const rf = g.tensors.get(ROPE_FREQS);
  if (rf) {
    if (rf.type.name !== 'F32' || rf.shape.length !== 1) throw fail(`${ROPE_FREQS}: expected F32[head_dim/2], got ${rf.type.name}[${rf.shape.join(', ')}]`);
    const bytes = await g.readBytes(ROPE_FREQS);
    const p = llama3FromFactors(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), raw.rope_theta, raw.head_dim);
    if (typeof p === 'string') throw fail(`${ROPE_FREQS}: ${p}`);
    Object.assign(raw, { rope_scaling: { rope_type: 'llama3', factor: p.factor, low_freq_factor: p.lowFreqFactor, high_freq_factor: p.highFreqFactor, original_max_position_embeddings: p.originalMaxPositions } });
  }
  const c = parseConfig(raw, g.path);
  return { ...c, rope: { ...c.rope, options: { ...c.rope.options, style: ARCHS[arch].style } } };
}
