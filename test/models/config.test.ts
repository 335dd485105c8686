import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { loadConfig, parseConfig } from '../../src/models/config.js';

// Config files as the hub ships them (transformers 4.x spelling), trimmed to what matters.
const LLAMA_32_1B = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  vocab_size: 128256,
};
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'],
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
const QWEN3_06B = {
  architectures: ['Qwen3ForCausalLM'],
  attention_bias: false,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 1024,
  intermediate_size: 3072,
  max_position_embeddings: 40960,
  max_window_layers: 28,
  model_type: 'qwen3',
  num_attention_heads: 16,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: null,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};
const MISTRAL_7B_V01 = {
  architectures: ['MistralForCausalLM'],
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  model_type: 'mistral',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  tie_word_embeddings: false,
  vocab_size: 32000,
};

const parse = (c: unknown) => parseConfig(c, 'config.json');
function parseError(c: unknown): ModelLoadError {
  try {
    parse(c);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelLoadError);
    expect((e as ModelLoadError).file).toBe('config.json');
    return e as ModelLoadError;
  }
  throw new Error('expected a ModelLoadError');
}

describe('config.json of the four architectures', () => {
  it('Llama 3.2 1B: GQA, head_dim, tied embeddings, llama3 rope scaling mapped to the rope op', () => {
    const c = parse(LLAMA_32_1B);
    expect(c).toMatchObject({ arch: 'llama', hiddenSize: 2048, numHeads: 32, numKvHeads: 8, headDim: 64, numLayers: 16, tieWordEmbeddings: true, rmsNormEps: 1e-5, qkvBias: false, oBias: false, qkNorm: false, bosTokenId: 128000, eosTokenIds: [128001, 128008, 128009], savedDtype: 'bfloat16' });
    expect(c.rope.options).toEqual({ base: 500000, scaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } });
    expect(c.layerWindows).toEqual(Array(16).fill(null));
  });

  it('transformers 5 spelling (rope_parameters with rope_theta inside) reads the same', () => {
    const { rope_scaling, rope_theta, ...rest } = LLAMA_32_1B;
    const v5 = { ...rest, rope_parameters: { ...rope_scaling, rope_theta }, dtype: 'bfloat16' };
    const a = parse(LLAMA_32_1B);
    const b = parse(v5);
    expect(b.rope).toEqual(a.rope);
    expect(b.savedDtype).toBe('bfloat16');
  });

  it('Qwen2.5: q/k/v biases without o bias; use_sliding_window false means no window', () => {
    const c = parse(QWEN25_05B);
    expect(c).toMatchObject({ arch: 'qwen2', headDim: 64, qkvBias: true, oBias: false, tieWordEmbeddings: true, eosTokenIds: [151643] });
    expect(c.layerWindows.every((w) => w === null)).toBe(true);
    expect(c.rope.options).toEqual({ base: 1000000, scaling: { type: 'none' } });
  });

  it("Qwen2 with use_sliding_window: HF's rule, layers ≥ max_window_layers slide", () => {
    const c = parse({ ...QWEN25_05B, num_hidden_layers: 3, use_sliding_window: true, max_window_layers: 1, sliding_window: 64 });
    expect(c.layerWindows).toEqual([null, 64, 64]);
  });

  it('Qwen3: q/k norms, head_dim independent of hidden_size / heads', () => {
    const c = parse(QWEN3_06B);
    expect(c).toMatchObject({ arch: 'qwen3', headDim: 128, qkNorm: true, qkvBias: false });
    expect(c.layerWindows.every((w) => w === null)).toBe(true);
  });

  it('Mistral: one window on every layer; none when sliding_window is null', () => {
    expect(parse(MISTRAL_7B_V01).layerWindows).toEqual(Array(32).fill(4096));
    expect(parse({ ...MISTRAL_7B_V01, sliding_window: null }).layerWindows).toEqual(Array(32).fill(null));
  });

  it('layer_types (transformers 5) decides which layers slide', () => {
    const c = parse({ ...MISTRAL_7B_V01, num_hidden_layers: 2, layer_types: ['sliding_attention', 'full_attention'] });
    expect(c.layerWindows).toEqual([4096, null]);
  });

  it('defaults for absent fields: kv heads = heads, theta 10000, no rope scaling', () => {
    const c = parse({ model_type: 'llama', vocab_size: 10, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4 });
    expect(c).toMatchObject({ numKvHeads: 4, headDim: 8, rmsNormEps: 1e-6, tieWordEmbeddings: false });
    expect(c.rope.options).toEqual({ base: 10000, scaling: { type: 'none' } });
  });
});

describe('config.json errors are typed and name the file', () => {
  it('unknown model_type', () => {
    expect(parseError({ ...LLAMA_32_1B, model_type: 'gemma2' }).message).toMatch(/model_type "gemma2" is not supported/);
  });
  it('missing or invalid fields', () => {
    const { hidden_size: _, ...noHidden } = LLAMA_32_1B;
    expect(parseError(noHidden).message).toMatch(/hidden_size/);
    expect(parseError({ ...LLAMA_32_1B, vocab_size: -3 }).message).toMatch(/vocab_size/);
    expect(parseError({ ...LLAMA_32_1B, num_key_value_heads: 5 }).message).toMatch(/not a multiple of num_key_value_heads 5/);
    expect(parseError({ ...LLAMA_32_1B, head_dim: undefined, hidden_size: 100 }).message).toMatch(/not a multiple of num_attention_heads/);
    expect(parseError({ ...LLAMA_32_1B, hidden_act: 'gelu' }).message).toMatch(/hidden_act "gelu"/);
    expect(parseError([1]).message).toMatch(/config/);
  });
  it('rope settings the rope op cannot honour', () => {
    expect(parseError({ ...LLAMA_32_1B, rope_scaling: { rope_type: 'dynamic', factor: 2 } }).message).toMatch(/rope_type "dynamic" is not supported/);
    expect(parseError({ ...LLAMA_32_1B, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, original_max_position_embeddings: 8192 } }).message).toMatch(/high_freq_factor is required/);
    expect(parseError({ ...LLAMA_32_1B, rope_scaling: { ...LLAMA_32_1B.rope_scaling, high_freq_factor: 0.5 } }).message).toMatch(/highFreqFactor/);
    expect(parseError({ ...LLAMA_32_1B, rope_scaling: { rope_type: 'default', partial_rotary_factor: 0.5 } }).message).toMatch(/partial_rotary_factor/);
  });
  it('layer_types that contradict the config', () => {
    expect(parseError({ ...MISTRAL_7B_V01, layer_types: ['full_attention'] }).message).toMatch(/layer_types has 1 entries/);
    expect(parseError({ ...MISTRAL_7B_V01, num_hidden_layers: 1, sliding_window: null, layer_types: ['sliding_attention'] }).message).toMatch(/sliding_window is not set/);
  });
  it('a file that is not JSON, a file that is not there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pmetal-cfg-'));
    try {
      const p = join(dir, 'config.json');
      writeFileSync(p, '{"model_type": ');
      await expect(loadConfig(p)).rejects.toThrow(ModelLoadError);
      await expect(loadConfig(join(dir, 'nope.json'))).rejects.toThrow(/cannot read/);
      writeFileSync(p, JSON.stringify(QWEN3_06B));
      expect((await loadConfig(p)).arch).toBe('qwen3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
