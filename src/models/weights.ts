import type { KernelBackend } from '../backend/interface.js';
import { fromFloat64, isFloat, toFloat64, type FloatDType } from '../dtype.js';
import { mergeLora, type LoraAdapter } from './adapter.js';
import { ModelLoadError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { ModelConfig } from './config.js';
import { convertFloat } from './convert.js';
import type { Checkpoint } from './safetensors/checkpoint.js';

/** One decoder layer's weights on the backend, HF layout ([out, in] matrices, used with transB). */
export interface LayerWeights {
  readonly inputNorm: Tensor;
  readonly postNorm: Tensor;
  readonly q: Tensor;
  readonly k: Tensor;
  readonly v: Tensor;
  readonly o: Tensor;
  readonly qBias?: Tensor;
  readonly kBias?: Tensor;
  readonly vBias?: Tensor;
  readonly oBias?: Tensor;
  readonly qNorm?: Tensor;
  readonly kNorm?: Tensor;
  readonly gate: Tensor;
  readonly up: Tensor;
  readonly down: Tensor;
  readonly gateBias?: Tensor;
  readonly upBias?: Tensor;
  readonly downBias?: Tensor;
}

export interface ModelWeights {
  readonly embed: Tensor;
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: Tensor;
  /** The embedding itself when tie_word_embeddings. */
  readonly lmHead: Tensor;
}

const FLOAT_FILE_DTYPES = ['F32', 'F16', 'BF16'];

/**
 * Reads every weight the config implies, checks each shape against config.json before its
 * bytes are read, converts to the compute dtype on the host and uploads it. Tensors are read
 * one at a time, so host memory holds one weight at a time, not the checkpoint.
 */
export async function loadWeights(ck: Checkpoint, c: ModelConfig, backend: KernelBackend, dtype: FloatDType, adapter?: LoraAdapter): Promise<ModelWeights> {
  const uploaded: Tensor[] = [];
  const used = new Set<string>();
  const load = async (name: string, shape: readonly number[], why: string): Promise<Tensor> => {
    used.add(name);
    const t = await ck.read(name, { shape, dtypes: FLOAT_FILE_DTYPES, why: `${why} in config.json` });
    if (!isFloat(t.dtype)) throw new ModelLoadError(`[model] ${ck.fileOf(name).path}: tensor "${name}": expected a float dtype, got ${t.dtype}`, { file: ck.fileOf(name).path, tensor: name });
    // An adapted weight is merged in float64 and rounded once to the compute dtype.
    const data = adapter?.deltas.has(name) ? fromFloat64(dtype, mergeLora(adapter, name, shape, toFloat64(t.dtype, t.data))) : convertFloat(t.dtype, dtype, t.data);
    const w = backend.tensor(data, shape, dtype);
    uploaded.push(w);
    return w;
  };
  const H = c.hiddenSize;
  const D = c.headDim;
  const qOut = c.numHeads * D;
  const kvOut = c.numKvHeads * D;
  const I = c.intermediateSize;
  const hs = `hidden_size ${H}`;
  try {
    const embed = await load('model.embed_tokens.weight', [c.vocabSize, H], `vocab_size ${c.vocabSize}, ${hs}`);
    const layers: LayerWeights[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const p = `model.layers.${l}`;
      const attn = `num_attention_heads ${c.numHeads} × head_dim ${D}, ${hs}`;
      const kv = `num_key_value_heads ${c.numKvHeads} × head_dim ${D}, ${hs}`;
      const mlp = `intermediate_size ${I}, ${hs}`;
      const bias = async (on: boolean, name: string, n: number, why: string) => (on ? load(`${p}.${name}.bias`, [n], why) : undefined);
      layers.push({
        inputNorm: await load(`${p}.input_layernorm.weight`, [H], hs),
        postNorm: await load(`${p}.post_attention_layernorm.weight`, [H], hs),
        q: await load(`${p}.self_attn.q_proj.weight`, [qOut, H], attn),
        k: await load(`${p}.self_attn.k_proj.weight`, [kvOut, H], kv),
        v: await load(`${p}.self_attn.v_proj.weight`, [kvOut, H], kv),
        o: await load(`${p}.self_attn.o_proj.weight`, [H, qOut], attn),
        qBias: await bias(c.qkvBias, 'self_attn.q_proj', qOut, attn),
        kBias: await bias(c.qkvBias, 'self_attn.k_proj', kvOut, kv),
        vBias: await bias(c.qkvBias, 'self_attn.v_proj', kvOut, kv),
        oBias: await bias(c.oBias, 'self_attn.o_proj', H, hs),
        qNorm: c.qkNorm ? await load(`${p}.self_attn.q_norm.weight`, [D], `head_dim ${D}`) : undefined,
        kNorm: c.qkNorm ? await load(`${p}.self_attn.k_norm.weight`, [D], `head_dim ${D}`) : undefined,
        gate: await load(`${p}.mlp.gate_proj.weight`, [I, H], mlp),
        up: await load(`${p}.mlp.up_proj.weight`, [I, H], mlp),
        down: await load(`${p}.mlp.down_proj.weight`, [H, I], mlp),
        gateBias: await bias(c.mlpBias, 'mlp.gate_proj', I, mlp),
        upBias: await bias(c.mlpBias, 'mlp.up_proj', I, mlp),
        downBias: await bias(c.mlpBias, 'mlp.down_proj', H, hs),
      });
    }
    const finalNorm = await load('model.norm.weight', [H], hs);
    // Tied checkpoints usually omit lm_head.weight; one that stores it anyway stores a copy.
    const lmHead = c.tieWordEmbeddings ? embed : await load('lm_head.weight', [c.vocabSize, H], `vocab_size ${c.vocabSize}, ${hs}`);
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
function checkAllUsed(ck: Checkpoint, c: ModelConfig, used: ReadonlySet<string>): void {
  for (const name of ck.names()) {
    if (used.has(name) || IGNORED.test(name) || (c.tieWordEmbeddings && name === 'lm_head.weight')) continue;
    const file = ck.fileOf(name).path;
    throw new ModelLoadError(`[model] ${file}: tensor "${name}" is not part of a ${c.arch} model as config.json describes it (${c.numLayers} layers, biases q/k/v ${c.qkvBias}, o ${c.oBias}, mlp ${c.mlpBias}, q/k norms ${c.qkNorm}): the config and the weights disagree`, { file, tensor: name });
  }
}

export function disposeWeights(w: ModelWeights): void {
  const all = new Set<Tensor>([w.embed, w.finalNorm, w.lmHead]);
  for (const l of w.layers) for (const t of Object.values(l)) if (t) all.add(t as Tensor);
  for (const t of all) t.dispose();
}
