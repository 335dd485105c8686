import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uniform } from '../../src/ops/random.js';
import { encodeSafetensors, type TensorToWrite } from '../../src/models/safetensors/index.js';

/**
 * A hand-made tiny checkpoint (config.json + model.safetensors, HF names and layouts) for
 * testing the model's wiring before the transformers-written fixtures exist. Norm weights and
 * biases are random too, so a loader that dropped one would change the logits.
 */
export interface TinySpec {
  model_type: 'llama' | 'qwen2' | 'qwen3' | 'mistral';
  layers?: number;
  hidden?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  tie?: boolean;
  attentionBias?: boolean;
  slidingWindow?: number | null;
  ropeTheta?: number;
  ropeScaling?: Record<string, unknown>;
  eps?: number;
  seed?: number;
}

export function tinyConfig(s: TinySpec): Record<string, unknown> {
  const hidden = s.hidden ?? 32;
  return {
    model_type: s.model_type,
    vocab_size: s.vocab ?? 40,
    hidden_size: hidden,
    intermediate_size: s.intermediate ?? 48,
    num_hidden_layers: s.layers ?? 2,
    num_attention_heads: s.heads ?? 4,
    num_key_value_heads: s.kvHeads ?? 2,
    head_dim: s.headDim ?? 8,
    hidden_act: 'silu',
    rms_norm_eps: s.eps ?? 1e-5,
    rope_theta: s.ropeTheta ?? 10000,
    ...(s.ropeScaling ? { rope_scaling: s.ropeScaling } : {}),
    tie_word_embeddings: s.tie ?? false,
    ...(s.attentionBias !== undefined ? { attention_bias: s.attentionBias } : {}),
    ...(s.slidingWindow !== undefined ? { sliding_window: s.slidingWindow } : {}),
    max_position_embeddings: 256,
  };
}

/** name → [shape, values], every tensor the config implies, in f32. */
export function tinyWeights(s: TinySpec): Map<string, { shape: number[]; data: Float32Array }> {
  const c = tinyConfig(s) as Record<string, number | boolean>;
  const H = c.hidden_size as number;
  const D = c.head_dim as number;
  const I = c.intermediate_size as number;
  const V = c.vocab_size as number;
  const qo = (c.num_attention_heads as number) * D;
  const kvo = (c.num_key_value_heads as number) * D;
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  let seed = s.seed ?? 11;
  const put = (name: string, shape: number[], lo: number, hi: number) => out.set(name, { shape, data: uniform('f32', shape, seed++, lo, hi).data as Float32Array });
  const mat = (name: string, n: number, k: number) => put(name, [n, k], -1 / Math.sqrt(k), 1 / Math.sqrt(k));
  put('model.embed_tokens.weight', [V, H], -1, 1);
  const qkvBias = s.model_type === 'qwen2' || s.attentionBias === true;
  const oBias = s.model_type !== 'qwen2' && s.attentionBias === true;
  for (let l = 0; l < (c.num_hidden_layers as number); l++) {
    const p = `model.layers.${l}`;
    put(`${p}.input_layernorm.weight`, [H], 0.5, 1.5);
    put(`${p}.post_attention_layernorm.weight`, [H], 0.5, 1.5);
    mat(`${p}.self_attn.q_proj.weight`, qo, H);
    mat(`${p}.self_attn.k_proj.weight`, kvo, H);
    mat(`${p}.self_attn.v_proj.weight`, kvo, H);
    mat(`${p}.self_attn.o_proj.weight`, H, qo);
    if (qkvBias) {
      put(`${p}.self_attn.q_proj.bias`, [qo], -0.5, 0.5);
      put(`${p}.self_attn.k_proj.bias`, [kvo], -0.5, 0.5);
      put(`${p}.self_attn.v_proj.bias`, [kvo], -0.5, 0.5);
    }
    if (oBias) put(`${p}.self_attn.o_proj.bias`, [H], -0.5, 0.5);
    if (s.model_type === 'qwen3') {
      put(`${p}.self_attn.q_norm.weight`, [D], 0.5, 1.5);
      put(`${p}.self_attn.k_norm.weight`, [D], 0.5, 1.5);
    }
    mat(`${p}.mlp.gate_proj.weight`, I, H);
    mat(`${p}.mlp.up_proj.weight`, I, H);
    mat(`${p}.mlp.down_proj.weight`, H, I);
  }
  put('model.norm.weight', [H], 0.5, 1.5);
  if (!c.tie_word_embeddings) mat('lm_head.weight', V, H);
  return out;
}

/** Writes config.json + model.safetensors into `dir`; `mutate` may change tensors before writing. */
export function writeTinyCheckpoint(dir: string, s: TinySpec, mutate?: (t: Record<string, TensorToWrite>) => void): Map<string, { shape: number[]; data: Float32Array }> {
  mkdirSync(dir, { recursive: true });
  const w = tinyWeights(s);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [k, v] of w) tensors[k] = { dtype: 'f32', shape: v.shape, data: v.data };
  mutate?.(tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(tinyConfig(s)));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  return w;
}
