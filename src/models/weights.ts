import type { KernelBackend } from '../backend/interface.js';
import { fromFloat64, isFloat, toFloat64, type FloatDType } from '../dtype.js';
import { ModelLoadError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { mergeLora, type LoraAdapter } from './adapter.js';
import type { ModelConfig } from './config.js';
import { convertFloat } from './convert.js';
import { linearTensors, type Linear } from './linear.js';
import type { TensorExpectation } from './safetensors/checkpoint.js';
import type { LoadedTensor } from './safetensors/file.js';

/**
 * Where weights come from, by Hugging Face name: a safetensors Checkpoint, or a GGUF file seen
 * through its name map. `quantized` answers for a weight stored as ggml blocks.
 */
export interface WeightSource {
  names(): string[];
  has(name: string): boolean;
  fileOf(name: string): { readonly path: string };
  read(name: string, expect?: TensorExpectation): Promise<LoadedTensor>;
  quantized?(name: string, shape: readonly number[], why: string): Promise<{ format: 'q4_0' | 'q8_0' | 'q4_k' | 'q6_k'; data: Uint8Array; rowBytes: number } | undefined>;
}

/** One decoder layer's weights on the backend. */
export interface LayerWeights {
  readonly inputNorm: Tensor;
  readonly postNorm: Tensor;
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly o: Linear;
  readonly qNorm?: Tensor;
  readonly kNorm?: Tensor;
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;
}

export interface ModelWeights {
  /** The embedding table, dense in the compute dtype (an MLX-quantized one is dequantized once). */
  readonly embed: Tensor;
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: Tensor;
  /** The embedding's own linear (dense or still packed) when tie_word_embeddings. */
  readonly lmHead: Linear;
}

const FLOAT_FILE_DTYPES = ['F32', 'F16', 'BF16'];

/**
 * Reads every weight the config implies, checks each shape against config.json before its
 * bytes are read, and uploads it: dense weights converted to the compute dtype on the host,
 * MLX-quantized ones (those with .scales/.biases beside .weight) kept packed. Tensors are
 * read one at a time, so host memory holds one weight at a time, not the checkpoint.
 */
export async function loadWeights(ck: WeightSource, c: ModelConfig, backend: KernelBackend, dtype: FloatDType, adapter?: LoraAdapter): Promise<ModelWeights> {
  const uploaded: Tensor[] = [];
  const used = new Set<string>();
  const up = (t: Tensor) => (uploaded.push(t), t);
  const read = async (name: string, shape: readonly number[], dtypes: string[], why: string) => {
    used.add(name);
    return ck.read(name, { shape, dtypes, why: `${why} in config.json` });
  };
  const dense = async (name: string, shape: readonly number[], why: string): Promise<Tensor> => {
    const t = await read(name, shape, FLOAT_FILE_DTYPES, why);
    if (!isFloat(t.dtype)) throw new ModelLoadError(`[model] ${ck.fileOf(name).path}: tensor "${name}": expected a float dtype, got ${t.dtype}`, { file: ck.fileOf(name).path, tensor: name });
    // An adapted weight is merged in float64 and rounded once to the compute dtype.
    const data = adapter?.deltas.has(name) ? fromFloat64(dtype, mergeLora(adapter, name, shape, toFloat64(t.dtype, t.data))) : convertFloat(t.dtype, dtype, t.data);
    return up(backend.tensor(data, shape, dtype));
  };
  /** `base`.weight [n, k] (+ `base`.bias [n] when `bias`), dense or MLX-packed. */
  const linear = async (base: string, n: number, k: number, bias: boolean, why: string): Promise<Linear> => {
    const q = c.quantization;
    const gq = await ck.quantized?.(`${base}.weight`, [n, k], why);
    if (gq) {
      used.add(`${base}.weight`);
      if (adapter?.deltas.has(`${base}.weight`)) throw new ModelLoadError(`[adapter] ${adapter.dir}: ${base}.weight is quantized; merging an adapter into it is not supported`, { file: adapter.dir, tensor: `${base}.weight` });
      return {
        kind: 'gguf',
        format: gq.format,
        w: up(backend.tensor(gq.data, [n, gq.rowBytes], 'u8')),
        ...(bias ? { bias: up(backend.reshape(await dense(`${base}.bias`, [n], why), [1, n])) } : {}),
      };
    }
    if (!ck.has(`${base}.scales`)) {
      return { kind: 'dense', w: await dense(`${base}.weight`, [n, k], why), ...(bias ? { bias: await dense(`${base}.bias`, [n], why) } : {}) };
    }
    const file = ck.fileOf(`${base}.scales`).path;
    if (!q) throw new ModelLoadError(`[model] ${file}: tensor "${base}.scales": an MLX-quantized weight, but config.json has no "quantization" {group_size, bits}`, { file, tensor: `${base}.scales` });
    if (adapter?.deltas.has(`${base}.weight`)) throw new ModelLoadError(`[adapter] ${adapter.dir}: ${base}.weight is quantized; merging an adapter into it is not supported`, { file: adapter.dir, tensor: `${base}.weight` });
    if (k % q.groupSize !== 0) throw new ModelLoadError(`[model] ${file}: ${base}: the input size ${k} is not a multiple of group_size ${q.groupSize}`, { file, tensor: base });
    const qwhy = `${why}, MLX ${q.bits}-bit groups of ${q.groupSize}`;
    const w = await read(`${base}.weight`, [n, (k * q.bits) / 32], ['U32'], qwhy);
    const s = await read(`${base}.scales`, [n, k / q.groupSize], FLOAT_FILE_DTYPES, qwhy);
    const bz = await read(`${base}.biases`, [n, k / q.groupSize], [({ f32: 'F32', f16: 'F16', bf16: 'BF16' } as Record<string, string>)[s.dtype]], `${qwhy}, the dtype of its scales`);
    return {
      kind: 'mlx',
      bits: q.bits,
      groupSize: q.groupSize,
      w: up(backend.tensor(w.data, w.shape, 'u32')),
      scales: up(backend.tensor(s.data, s.shape, s.dtype)),
      biases: up(backend.tensor(bz.data, bz.shape, bz.dtype)),
      ...(bias ? { bias: up(backend.reshape(await dense(`${base}.bias`, [n], why), [1, n])) } : {}),
    };
  };
  const H = c.hiddenSize;
  const D = c.headDim;
  const qOut = c.numHeads * D;
  const kvOut = c.numKvHeads * D;
  const I = c.intermediateSize;
  const hs = `hidden_size ${H}`;
  try {
    const vocab = `vocab_size ${c.vocabSize}, ${hs}`;
    const embedLinear = await linear('model.embed_tokens', c.vocabSize, H, false, vocab);
    const embed =
      embedLinear.kind === 'dense'
        ? embedLinear.w
        : embedLinear.kind === 'mlx'
          ? up(backend.dequantize({ w: embedLinear.w, scales: embedLinear.scales, biases: embedLinear.biases }, { format: embedLinear.bits === 4 ? 'mlx4' : 'mlx8', groupSize: embedLinear.groupSize, outDtype: dtype }).y)
          : up(backend.dequantize({ w: embedLinear.w }, { format: embedLinear.format, outDtype: dtype }).y);
    const layers: LayerWeights[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const p = `model.layers.${l}`;
      const attn = `num_attention_heads ${c.numHeads} × head_dim ${D}, ${hs}`;
      const kv = `num_key_value_heads ${c.numKvHeads} × head_dim ${D}, ${hs}`;
      const mlp = `intermediate_size ${I}, ${hs}`;
      layers.push({
        inputNorm: await dense(`${p}.input_layernorm.weight`, [H], hs),
        postNorm: await dense(`${p}.post_attention_layernorm.weight`, [H], hs),
        q: await linear(`${p}.self_attn.q_proj`, qOut, H, c.qkvBias, attn),
        k: await linear(`${p}.self_attn.k_proj`, kvOut, H, c.qkvBias, kv),
        v: await linear(`${p}.self_attn.v_proj`, kvOut, H, c.qkvBias, kv),
        o: await linear(`${p}.self_attn.o_proj`, H, qOut, c.oBias, attn),
        qNorm: c.qkNorm ? await dense(`${p}.self_attn.q_norm.weight`, [D], `head_dim ${D}`) : undefined,
        kNorm: c.qkNorm ? await dense(`${p}.self_attn.k_norm.weight`, [D], `head_dim ${D}`) : undefined,
        gate: await linear(`${p}.mlp.gate_proj`, I, H, c.mlpBias, mlp),
        up: await linear(`${p}.mlp.up_proj`, I, H, c.mlpBias, mlp),
        down: await linear(`${p}.mlp.down_proj`, H, I, c.mlpBias, mlp),
      });
    }
    const finalNorm = await dense('model.norm.weight', [H], hs);
    // Tied checkpoints usually omit lm_head.weight; one that stores it anyway stores a copy.
    const lmHead = c.tieWordEmbeddings ? embedLinear : await linear('lm_head', c.vocabSize, H, false, vocab);
    if (!c.tieWordEmbeddings && embedLinear.kind !== 'dense') for (const t of linearTensors(embedLinear)) t.dispose();
    checkAllUsed(ck, c, used);
    for (const name of adapter?.deltas.keys() ?? []) {
      if (!used.has(name)) throw new ModelLoadError(`[adapter] ${adapter!.dir}: it adapts ${name}, which this ${c.arch} model (${c.numLayers} layers) does not have`, { file: adapter!.dir, tensor: name });
    }
    return { embed, layers, finalNorm, lmHead };
  } catch (e) {
    for (const t of uploaded) t.dispose();
    throw e;
  }
}

/**
 * Tensors HF itself drops on load: rope buffers some old checkpoints saved, and the copy of
 * the embedding a tied checkpoint may still carry as lm_head.weight (HF re-ties it).
 */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$/;

/**
 * A weight the config does not account for means config.json and the checkpoint disagree
 * (q_norm weights under a config that says llama, biases it says are absent): ignoring it
 * would be a silent wrong load, so it is an error naming the tensor.
 */
function checkAllUsed(ck: WeightSource, c: ModelConfig, used: ReadonlySet<string>): void {
  for (const name of ck.names()) {
    if (used.has(name) || IGNORED.test(name) || (c.tieWordEmbeddings && name.startsWith('lm_head.'))) continue;
    const file = ck.fileOf(name).path;
    throw new ModelLoadError(`[model] ${file}: tensor "${name}" is not part of a ${c.arch} model as config.json describes it (${c.numLayers} layers, biases q/k/v ${c.qkvBias}, o ${c.oBias}, mlp ${c.mlpBias}, q/k norms ${c.qkNorm}): the config and the weights disagree`, { file, tensor: name });
  }
}

export function disposeWeights(w: ModelWeights): void {
  const all = new Set<Tensor>([w.embed, w.finalNorm, ...linearTensors(w.lmHead)]);
  for (const l of w.layers) {
    for (const t of [l.inputNorm, l.postNorm, l.qNorm, l.kNorm]) if (t) all.add(t);
    for (const lin of [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]) for (const t of linearTensors(lin)) all.add(t);
  }
  for (const t of all) t.dispose();
}
