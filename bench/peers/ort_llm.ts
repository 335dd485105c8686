import type { FloatDType } from '../../src/dtype.js';
import type { HostTensor } from '../../src/ops/types.js';
import type { AttnP, DecodeP, QgemmP } from './cases.js';
import { mlxToMatMulNBits } from './nbits.js';
import { ONNX_INT32, ONNX_INT64, ONNX_UINT8, type Dim, type Initializer, type OnnxNode, type ValueInfo } from './onnx.js';
import { floatData, onnxType, ortType, type Feed, type GraphSpec } from './ort.js';
import { causalMask } from './peer.js';

/**
 * The com.microsoft LLM ops of onnxruntime's WebGPU EP as a user of ORT writes them for
 * pmetal's flash_attention_forward and quantized_gemm (contrib op schemas:
 * onnxruntime docs/ContribOperators.md; WebGPU kernels: onnxruntime/contrib_ops/webgpu).
 */

const MS = 'com.microsoft';
const int64Init = (name: string, v: number[]): Initializer => ({ name, elemType: ONNX_INT64, dims: [v.length], raw: new Uint8Array(BigInt64Array.from(v, BigInt).buffer) });
/** pmetal's bshd [B, S, H, D] is ORT's BSNH [B, S, H·D], the same bytes. */
const bsnh = (i: HostTensor) => [i.shape[0], i.shape[1], i.shape[2] * i.shape[3]];

/**
 * Attention, prefill (no past):
 * - Hkv < Hq, causal: GroupQueryAttention (ORT's LLM attention; causal by construction, the
 *   prompt given by seqlens_k = S − 1 and total_sequence_length = S).
 * - Hkv < Hq, not causal: the WebGPU EP's GroupQueryAttention has causal = 1 only ("causal=0 is
 *   not implemented"), so MultiHeadAttention on K and V with each head repeated Hq/Hkv times
 *   (Reshape → Expand → Reshape in the graph), what a user of ORT writes for it.
 * - Hkv = Hq: MultiHeadAttention; causal through attention_bias [1, 1, S, S] of 0/−∞ (its WebGPU
 *   kernel refuses unidirectional = 1, and key_padding_mask is not implemented there).
 * MultiHeadAttention is asked for present_key/present_value (the KV cache an LLM prefill keeps):
 * in the ORT sources read (contrib_ops/webgpu/bert/flash_attention.cc, CanApplyFlashAttention),
 * the WebGPU EP takes its flash-attention path only when they are requested (and some versions
 * only at batch 1); otherwise it materialises the [B, H, S, S] probabilities.
 */
export function attentionGraph(p: AttnP, dtype: FloatDType): GraphSpec {
  const T = onnxType(dtype);
  const vi = (name: string, dims: Dim[], elemType = T): ValueInfo => ({ name, elemType, dims });
  const r = p.hq / p.hkv;
  const qd = p.hq * p.d;
  const kd = p.hkv * p.d;
  const shared = { query: { input: 'q', dims: bsnh }, key: { input: 'k', dims: bsnh }, value: { input: 'v', dims: bsnh } };
  const heads = { num_heads: { i: p.hq } };
  if (r > 1 && p.causal) {
    return {
      graph: {
        name: 'gqa',
        opset: 17,
        nodes: [
          {
            op: 'GroupQueryAttention',
            domain: MS,
            inputs: ['query', 'key', 'value', '', '', 'seqlens_k', 'total_sequence_length'],
            outputs: ['y', 'present_key', 'present_value'],
            attrs: { ...heads, kv_num_heads: { i: p.hkv }, scale: { f: p.scale } },
          },
        ],
        inputs: [vi('query', ['b', 's', qd]), vi('key', ['b', 's', kd]), vi('value', ['b', 's', kd]), vi('seqlens_k', ['b'], ONNX_INT32), vi('total_sequence_length', [1], ONNX_INT32)],
        outputs: [vi('y', ['b', 's', qd]), vi('present_key', ['b', p.hkv, 's', p.d]), vi('present_value', ['b', p.hkv, 's', p.d])],
      },
      outputs: { o: 'y' },
      feeds: (i) => {
        const [b, s] = i.q.shape;
        return {
          seqlens_k: { type: 'int32', dims: [b], data: new Int32Array(b).fill(s - 1) },
          // A shape scalar the kernel reads on the host: an ordinary CPU tensor, as ORT GenAI passes it.
          total_sequence_length: { type: 'int32', dims: [1], data: Int32Array.of(s), cpu: true },
        };
      },
      shared,
      form: `com.microsoft GroupQueryAttention(q, k, v as [B,S,H·D], seqlens_k = S−1, total_sequence_length = S; num_heads=${p.hq}, kv_num_heads=${p.hkv}, scale) → o, present_key/value (causal by construction)`,
    };
  }
  const nodes: OnnxNode[] = [];
  const initializers: Initializer[] = [];
  let [key, value] = ['key', 'value'];
  if (r > 1) {
    initializers.push(int64Init('kv5', [0, 0, p.hkv, 1, p.d]), int64Init('rep5', [1, 1, p.hkv, r, p.d]), int64Init('q3', [0, 0, qd]));
    for (const x of ['key', 'value']) {
      nodes.push(
        { op: 'Reshape', inputs: [x, 'kv5'], outputs: [`${x}5`] },
        { op: 'Expand', inputs: [`${x}5`, 'rep5'], outputs: [`${x}_rep5`] },
        { op: 'Reshape', inputs: [`${x}_rep5`, 'q3'], outputs: [`${x}_rep`] },
      );
    }
    [key, value] = ['key_rep', 'value_rep'];
  }
  nodes.push({
    op: 'MultiHeadAttention',
    domain: MS,
    inputs: ['query', key, value, ...(p.causal ? ['', '', 'attention_bias'] : [])],
    outputs: ['y', 'present_key', 'present_value'],
    attrs: { ...heads, scale: { f: p.scale } },
  });
  const why = r > 1 ? ` (GroupQueryAttention's WebGPU kernel is causal only: K, V heads repeated ${r}× by Reshape→Expand→Reshape)` : '';
  return {
    graph: {
      name: 'mha',
      opset: 17,
      nodes,
      initializers,
      inputs: [vi('query', ['b', 's', qd]), vi('key', ['b', 's', kd]), vi('value', ['b', 's', kd]), ...(p.causal ? [vi('attention_bias', [1, 1, 's', 's'])] : [])],
      outputs: [vi('y', ['b', 's', qd]), vi('present_key', ['b', p.hq, 's', p.d]), vi('present_value', ['b', p.hq, 's', p.d])],
    },
    outputs: { o: 'y' },
    feeds: (i): Record<string, Feed> => {
      const s = i.q.shape[1];
      return p.causal ? { attention_bias: { type: ortType(dtype), dims: [1, 1, s, s], data: floatData(dtype, causalMask(s, s)) } } : {};
    },
    shared,
    form: `com.microsoft MultiHeadAttention(q, k, v as [B,S,H·D]${p.causal ? ', attention_bias = [1,1,S,S] of 0/−∞' : ''}; num_heads=${p.hq}, scale) → o, present_key/value${why}`,
  };
}

/**
 * The T new keys (or values) of each sequence as GroupQueryAttention's key input [B, T, Hkv·D]:
 * pmetal's cache [B, Hkv, Smax, D] already holds them at positions length − T … length − 1.
 */
function newTokens(cache: HostTensor, lengths: Int32Array, t: number): HostTensor {
  const [b, hkv, smax, d] = cache.shape;
  const src = cache.data as Float32Array | Uint16Array;
  const out = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(b * t * hkv * d);
  for (let s = 0; s < b; s++) {
    if (lengths[s] < t) throw new Error(`GroupQueryAttention: sequence ${s} has ${lengths[s]} keys, fewer than the ${t} new tokens`);
    for (let j = 0; j < t; j++)
      for (let h = 0; h < hkv; h++) {
        const from = ((s * hkv + h) * smax + lengths[s] - t + j) * d;
        out.set(src.subarray(from, from + d), ((s * t + j) * hkv + h) * d);
      }
  }
  return { dtype: cache.dtype, shape: [b, t, hkv * d], data: out };
}

/**
 * decode_attention on a contiguous cache as GroupQueryAttention with a past: past_key/value are
 * pmetal's kCache/vCache buffers as they are (ORT's BNSH [B, Hkv, Smax, D] is pmetal's layout),
 * key/value the T new tokens (copied from the cache's last T positions: ORT appends them to the
 * past itself), seqlens_k = length − 1 and total_sequence_length = max length. A sliding window
 * is the local_window_size attribute (left + 1: ORT counts the query's own key, pmetal's
 * window.left does not), a softcap the softcap attribute (cap·tanh(s/cap) on the scaled scores, as pmetal).
 * No present buffer is shared with the past (ORT-web binds no outputs to inputs), so each call
 * also copies the past into present_key/value — what an ORT-web user without IO binding gets.
 */
export function decodeGraph(p: DecodeP, dtype: FloatDType): GraphSpec {
  const T = onnxType(dtype);
  const vi = (name: string, dims: Dim[], elemType = T): ValueInfo => ({ name, elemType, dims });
  const qd = p.hq * p.d;
  const kd = p.hkv * p.d;
  const attrs: OnnxNode['attrs'] = { num_heads: { i: p.hq }, kv_num_heads: { i: p.hkv }, scale: { f: p.scale } };
  // ORT's window counts the visible keys, the query's own included (measured on the wasm EP:
  // left keys before it plus itself), pmetal's window.left the keys before it: size = left + 1.
  if (p.window !== undefined) attrs.local_window_size = { i: p.window + 1 };
  if (p.softcap !== undefined) attrs.softcap = { f: p.softcap };
  const cacheDims = (i: HostTensor) => [...i.shape];
  return {
    graph: {
      name: 'gqa_decode',
      opset: 17,
      nodes: [
        {
          op: 'GroupQueryAttention',
          domain: MS,
          inputs: ['query', 'key', 'value', 'past_key', 'past_value', 'seqlens_k', 'total_sequence_length'],
          outputs: ['y', 'present_key', 'present_value'],
          attrs,
        },
      ],
      inputs: [
        vi('query', ['b', 't', qd]),
        vi('key', ['b', 't', kd]),
        vi('value', ['b', 't', kd]),
        vi('past_key', ['b', p.hkv, 'smax', p.d]),
        vi('past_value', ['b', p.hkv, 'smax', p.d]),
        vi('seqlens_k', ['b'], ONNX_INT32),
        vi('total_sequence_length', [1], ONNX_INT32),
      ],
      outputs: [vi('y', ['b', 't', qd]), vi('present_key', ['b', p.hkv, 'total', p.d]), vi('present_value', ['b', p.hkv, 'total', p.d])],
    },
    outputs: { o: 'y' },
    feeds: (i) => {
      const lengths = i.lengths.data as Int32Array;
      const t = i.q.shape[1];
      const k = newTokens(i.kCache, lengths, t);
      const v = newTokens(i.vCache, lengths, t);
      return {
        key: { type: ortType(dtype), dims: [...k.shape], data: k.data as Float32Array | Uint16Array },
        value: { type: ortType(dtype), dims: [...v.shape], data: v.data as Float32Array | Uint16Array },
        seqlens_k: { type: 'int32', dims: [lengths.length], data: Int32Array.from(lengths, (x) => x - 1) },
        total_sequence_length: { type: 'int32', dims: [1], data: Int32Array.of(Math.max(0, ...lengths)), cpu: true },
      };
    },
    // ORT's GroupQueryAttention (helper CheckInputs, every EP) refuses several new tokens per
    // sequence with a past unless B = 1: "batch_size must be 1 when sequence_length > 1 and past
    // context is given" (seen on the WebGPU EP on lavapipe).
    ...(p.b > 1 && p.t > 1 ? { unsupported: `GroupQueryAttention takes ${p.t} new tokens per sequence with a past only at batch 1 ("batch_size must be 1 when sequence_length > 1 and past context is given")` } : {}),
    shared: { query: { input: 'q', dims: bsnh }, past_key: { input: 'kCache', dims: cacheDims }, past_value: { input: 'vCache', dims: cacheDims } },
    form: `com.microsoft GroupQueryAttention(q as [B,T,Hq·D], the T new k/v tokens, past_key/value = pmetal's caches [B,Hkv,Smax,D], seqlens_k = length−1, total_sequence_length; num_heads=${p.hq}, kv_num_heads=${p.hkv}, scale${p.window !== undefined ? `, local_window_size=${p.window + 1}` : ''}${p.softcap !== undefined ? `, softcap=${p.softcap}` : ''}) → o, present_key/value (the past copied into them each call: no shared buffer)`,
  };
}

/**
 * quantized_gemm (mlx4) as MatMulNBits(A, B, scales[, zero_points]; K, N, bits=4, block_size =
 * groupSize), its weights converted exactly from pmetal's (nbits.ts): B is pmetal's weight
 * buffer itself; scales are shared where their dtype is the model's, else converted on the host.
 */
export function nbitsGraph(p: QgemmP, dtype: FloatDType): GraphSpec {
  const T = onnxType(dtype);
  const t = dtype === 'f16' ? 'f16' : 'f32';
  const blocks = p.k / p.group;
  const zp = p.zp === 'asym';
  const vi = (name: string, dims: Dim[], elemType = T): ValueInfo => ({ name, elemType, dims });
  const convert = (i: Record<string, HostTensor>) => mlxToMatMulNBits(i.w, i.scales, i.biases, p.group, t);
  // The bench weights carry f16 scales: an f16 model reads them in place, an f32 one gets them widened.
  const shareScales = dtype === 'f16';
  return {
    graph: {
      name: 'matmulnbits',
      opset: 17,
      nodes: [
        {
          op: 'MatMulNBits',
          domain: MS,
          inputs: ['a', 'b', 'scales', ...(zp ? ['zero_points'] : [])],
          outputs: ['y'],
          attrs: { K: { i: p.k }, N: { i: p.n }, bits: { i: 4 }, block_size: { i: p.group } },
        },
      ],
      inputs: [vi('a', ['m', p.k]), vi('b', [p.n, blocks, p.group / 2], ONNX_UINT8), vi('scales', [p.n * blocks]), ...(zp ? [vi('zero_points', [p.n * Math.ceil(blocks / 2)], ONNX_UINT8)] : [])],
      outputs: [vi('y', ['m', p.n])],
    },
    outputs: { y: 'y' },
    feeds: (i) => {
      // Converted (and checked exact) on every call: check() and bind() see the same weights.
      const c = convert(i);
      const out: Record<string, Feed> = {};
      if (!shareScales) out.scales = { type: ortType(dtype), dims: [p.n * blocks], data: c.scales };
      if (zp) {
        if (!c.zeroPoints) throw new Error('MatMulNBits: the asym case drew no zero point other than 8');
        out.zero_points = { type: 'uint8', dims: [c.zeroPoints.length], data: c.zeroPoints };
      }
      return out;
    },
    shared: {
      a: { input: 'x', dims: (i) => [...i.shape] },
      b: { input: 'w', dims: () => [p.n, blocks, p.group / 2], type: 'uint8' },
      ...(shareScales ? { scales: { input: 'scales', dims: () => [p.n * blocks] } } : {}),
    },
    form: `com.microsoft MatMulNBits(x, B = pmetal's mlx4 words as uint8 [N,K/${p.group},${p.group / 2}], scales${zp ? ', uint4 zero_points' : ' (zero point 8: none given)'}; bits=4, block_size=${p.group}) — weights converted exactly (bias = −zp·scale)`,
  };
}
