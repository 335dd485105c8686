import type { FloatDType } from '../../dtype.js';
import { ModelLoadError } from '../../errors.js';
import type { TensorExpectation } from '../safetensors/checkpoint.js';
import type { LoadedTensor } from '../safetensors/file.js';
import type { WeightSource } from '../weights.js';
import { ROPE_FREQS } from './config.js';
import type { GgufFile } from './reader.js';

/** Hugging Face name ↔ llama.cpp's GGUF name (convert_hf_to_gguf's tensor map for these architectures). */
const LAYER: [string, string][] = [
  ['input_layernorm.weight', 'attn_norm.weight'],
  ['post_attention_layernorm.weight', 'ffn_norm.weight'],
  ['self_attn.q_proj.weight', 'attn_q.weight'],
  ['self_attn.q_proj.bias', 'attn_q.bias'],
  ['self_attn.k_proj.weight', 'attn_k.weight'],
  ['self_attn.k_proj.bias', 'attn_k.bias'],
  ['self_attn.v_proj.weight', 'attn_v.weight'],
  ['self_attn.v_proj.bias', 'attn_v.bias'],
  ['self_attn.o_proj.weight', 'attn_output.weight'],
  ['self_attn.o_proj.bias', 'attn_output.bias'],
  ['self_attn.q_norm.weight', 'attn_q_norm.weight'],
  ['self_attn.k_norm.weight', 'attn_k_norm.weight'],
  ['mlp.gate_proj.weight', 'ffn_gate.weight'],
  ['mlp.up_proj.weight', 'ffn_up.weight'],
  ['mlp.down_proj.weight', 'ffn_down.weight'],
];
const GLOBAL: [string, string][] = [
  ['model.embed_tokens.weight', 'token_embd.weight'],
  ['model.norm.weight', 'output_norm.weight'],
  ['lm_head.weight', 'output.weight'],
];

export function hfToGguf(name: string): string {
  const g = GLOBAL.find(([hf]) => hf === name);
  if (g) return g[1];
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  const l = m && LAYER.find(([hf]) => hf === m[2]);
  return l ? `blk.${m![1]}.${l[1]}` : name;
}

function ggufToHf(name: string): string {
  const g = GLOBAL.find(([, gg]) => gg === name);
  if (g) return g[0];
  const m = /^blk\.(\d+)\.(.+)$/.exec(name);
  const l = m && LAYER.find(([, gg]) => gg === m[2]);
  // A tensor without an HF name (rope_freqs.weight, …) keeps its own: the loader refuses what it does not use.
  return l ? `model.layers.${m![1]}.${l[0]}` : name;
}

const FLOAT: Record<string, FloatDType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };

/** A GGUF file as a WeightSource: float tensors as host arrays, quantized ones as raw blocks. */
export class GgufSource implements WeightSource {
  constructor(private readonly g: GgufFile) {}

  names(): string[] {
    // rope_freqs is read by ggufConfig into the rope options: not a weight.
    return [...this.g.tensors.keys()].filter((n) => n !== ROPE_FREQS).map(ggufToHf);
  }

  has(name: string): boolean {
    return this.g.tensors.has(hfToGguf(name));
  }

  fileOf(): { path: string } {
    return { path: this.g.path };
  }

  #info(name: string, shape: readonly number[] | undefined, why: string | undefined) {
    const gname = hfToGguf(name);
    const t = this.g.tensors.get(gname);
    if (!t) throw new ModelLoadError(`[gguf] ${this.g.path}: tensor "${gname}" (${name}) not found`, { file: this.g.path, tensor: gname });
    if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new ModelLoadError(`[gguf] ${this.g.path}: tensor "${gname}": shape [${t.shape.join(', ')}] contradicts the expected [${shape.join(', ')}]${why ? ` (${why})` : ''}`, { file: this.g.path, tensor: gname });
    }
    return t;
  }

  async read(name: string, expect?: TensorExpectation): Promise<LoadedTensor> {
    const t = this.#info(name, expect?.shape, expect?.why);
    const dtype = FLOAT[t.type.name];
    if (!dtype) throw new ModelLoadError(`[gguf] ${this.g.path}: tensor "${t.name}": ggml type ${t.type.name} where a float tensor is expected${expect?.why ? ` (${expect.why})` : ''}`, { file: this.g.path, tensor: t.name });
    const bytes = await this.g.readBytes(t.name);
    const data = dtype === 'f32' ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
    return { name, dtype, shape: t.shape, data };
  }

  async quantized(name: string, shape: readonly number[], why: string) {
    const gname = hfToGguf(name);
    const t = this.g.tensors.get(gname);
    if (!t || FLOAT[t.type.name]) return undefined;
    this.#info(name, shape, `${why} in the GGUF metadata`);
    if (!t.type.quant) throw new ModelLoadError(`[gguf] ${this.g.path}: tensor "${gname}": ggml type ${t.type.name} is not supported (F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q6_K)`, { file: this.g.path, tensor: gname });
    const rowBytes = (shape[1] / t.type.blockK) * t.type.blockBytes;
    return { format: t.type.quant, data: await this.g.readBytes(gname), rowBytes };
  }
}
