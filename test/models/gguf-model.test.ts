import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { ModelLoadError } from '../../src/errors.js';
import { GgufFile } from '../../src/models/gguf/reader.js';
import { GgufSource, hfToGguf } from '../../src/models/gguf/source.js';
import { loadModel } from '../../src/models/load.js';
import { ggufElement, quantizeQ8_0 } from '../../src/ops/quant/gguf.js';
import { randomInts } from '../../src/ops/random.js';
import { encodeGguf, permuteRows, type GgufTensor, type Meta } from './gguf_writer.js';
import { referenceLogits, refInvFreq } from './reference_llama.js';
import { tinyWeights, type TinySpec } from './tiny_checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'pmetal-ggufm-'));
const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  backends.cpu = await createBackend('cpu');
  backends.webgpu = await createBackend('webgpu');
});
afterAll(() => {
  Object.values(backends).forEach((b) => b.dispose());
  rmSync(root, { recursive: true, force: true });
});

const ids = Array.from(randomInts('i32', [10], 41, 0, 40).data);

/**
 * Writes `spec`'s weights as llama.cpp would: GGUF names, llama's q/k rows permuted, the
 * matrices named in `q8` quantized to Q8_0. Returns the weights the file really holds, in HF
 * layout and HF order (dequantized), for the reference.
 */
function writeGguf(path: string, spec: TinySpec, arch: string, q8: RegExp, extra: GgufTensor[] = [], theta = 10000) {
  const w = tinyWeights(spec);
  const held = new Map<string, { shape: number[]; data: Float32Array }>();
  const tensors: GgufTensor[] = [...extra];
  for (const [name, t] of w) {
    let data = t.data;
    if (arch === 'llama' && /self_attn\.[qk]_proj\.weight$/.test(name)) data = permuteRows(data, t.shape[0], t.shape[1], name.includes('q_proj') ? 4 : 2);
    if (q8.test(name)) {
      const [n, k] = t.shape;
      const rowBytes = (k / 32) * 34;
      const bytes = new Uint8Array(n * rowBytes);
      for (let r = 0; r < n; r++) quantizeQ8_0(data.subarray(r * k, (r + 1) * k), k, bytes, r * rowBytes);
      tensors.push({ name: hfToGguf(name), shape: t.shape, type: 8, bytes });
      const deq = new Float32Array(n * k).map((_, e) => ggufElement('q8_0', bytes, Math.floor(e / k) * rowBytes + Math.floor((e % k) / 32) * 34, e % 32));
      held.set(name, { shape: t.shape, data: deq });
    } else {
      tensors.push({ name: hfToGguf(name), shape: t.shape, type: 0, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
      held.set(name, { shape: t.shape, data });
    }
  }
  // The reference takes HF-layout weights: undo the permutation of what the file holds.
  if (arch === 'llama') {
    for (const [name, t] of held) {
      if (!/self_attn\.[qk]_proj\.weight$/.test(name)) continue;
      const heads = name.includes('q_proj') ? 4 : 2;
      const d = t.shape[0] / heads;
      const out = new Float32Array(t.data.length);
      const cols = t.shape[1];
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < d / 2; i++) {
          out.set(t.data.subarray((h * d + 2 * i) * cols, (h * d + 2 * i + 1) * cols), (h * d + i) * cols);
          out.set(t.data.subarray((h * d + 2 * i + 1) * cols, (h * d + 2 * i + 2) * cols), (h * d + i + d / 2) * cols);
        }
      held.set(name, { shape: t.shape, data: out });
    }
  }
  const meta: Record<string, Meta> = {
    'general.architecture': { type: 'str', value: arch },
    [`${arch}.block_count`]: { type: 'u32', value: 2 },
    [`${arch}.embedding_length`]: { type: 'u32', value: 32 },
    [`${arch}.feed_forward_length`]: { type: 'u32', value: spec.intermediate ?? 48 },
    [`${arch}.attention.head_count`]: { type: 'u32', value: 4 },
    [`${arch}.attention.head_count_kv`]: { type: 'u32', value: 2 },
    [`${arch}.attention.key_length`]: { type: 'u32', value: 8 },
    [`${arch}.attention.layer_norm_rms_epsilon`]: { type: 'f32', value: 1e-5 },
    [`${arch}.rope.freq_base`]: { type: 'f32', value: theta },
    [`${arch}.context_length`]: { type: 'u32', value: 256 },
  };
  writeFileSync(path, encodeGguf(meta, tensors));
  return held;
}

describe('GGUF checkpoints through the same forward pass', () => {
  const cases = [
    ['llama', 'cpu', { model_type: 'llama', tie: true, intermediate: 64 }, /^$/],
    ['qwen2', 'cpu', { model_type: 'qwen2', tie: true, intermediate: 64 }, /(mlp\..*|embed_tokens)\.weight$/],
    ['qwen2', 'webgpu', { model_type: 'qwen2', tie: true, intermediate: 64 }, /(mlp\..*|embed_tokens)\.weight$/],
  ] as const;
  it.each(cases)('%s on %s (llama: q/k rows permuted as llama.cpp stores them; qwen2: Q8_0 MLP and tied embedding)', async (arch, bname, spec, q8) => {
    const path = join(root, `${arch}-${bname}.gguf`);
    const held = writeGguf(path, spec as TinySpec, arch, q8);
    const model = await loadModel(path, backends[bname]);
    expect(model.config).toMatchObject({ arch, numLayers: 2, numKvHeads: 2, headDim: 8, tieWordEmbeddings: true, qkvBias: arch === 'qwen2' });
    const [got] = await model.forward([ids]);
    model.dispose();
    const ref = referenceLogits({ hidden: 32, heads: 4, kvHeads: 2, headDim: 8, eps: 1e-5, invFreq: refInvFreq(10000, 8), window: null, qkNorm: false, tie: true, layers: 2 }, held, ids, false).flatMap((r) => Array.from(r));
    const maxRef = Math.max(...ref.map(Math.abs));
    // The dense tests' bounds (cpu 30·16, webgpu 30·64 f32 ulps of the largest logit); eps read as an f32 changes nothing at that scale.
    const bound = (bname === 'cpu' ? 30 * 16 : 30 * 64) * 2 ** -24 * maxRef;
    ref.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThanOrEqual(bound));
    expect(maxRef).toBeGreaterThan(0.5);
  });

  // Llama 3 scaling as llama.cpp stores it: the per-pair factors of theta 100, factor 8,
  // low 1, high 4, original 70 (two pairs of head_dim 8 fall in the blended band).
  const inv0 = refInvFreq(100, 8);
  const inv3 = refInvFreq(100, 8, { factor: 8, low: 1, high: 4, omp: 70 });
  const factors = new Float32Array(inv0.map((f, i) => f / inv3[i]));

  it('llama3 rope scaling from rope_freqs.weight: the recovered parameters give the model HF’s frequencies', async () => {
    const spec: TinySpec = { model_type: 'llama', tie: true, intermediate: 64 };
    const path = join(root, 'llama3.gguf');
    const held = writeGguf(path, spec, 'llama', /^$/, [{ name: 'rope_freqs.weight', shape: [4], type: 0, bytes: new Uint8Array(factors.buffer) }], 100);
    const model = await loadModel(path, backends.cpu);
    expect(model.config.rope.options.scaling).toMatchObject({ type: 'llama3', factor: 8, lowFreqFactor: 1, originalMaxPositions: 70 });
    const [got] = await model.forward([ids]);
    model.dispose();
    const ref = referenceLogits({ hidden: 32, heads: 4, kvHeads: 2, headDim: 8, eps: 1e-5, invFreq: inv3, window: null, qkNorm: false, tie: true, layers: 2 }, held, ids, false).flatMap((r) => Array.from(r));
    const maxRef = Math.max(...ref.map(Math.abs));
    ref.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThanOrEqual(30 * 16 * 2 ** -24 * maxRef));
  });

  it('rope_freqs it cannot explain, unsupported tensor types and architectures are typed errors', async () => {
    const spec: TinySpec = { model_type: 'llama', tie: true, intermediate: 64 };
    const p1 = join(root, 'freqs.gguf');
    const bad = new Float32Array([1, 3, 2, 8]); // not monotone: no llama3 blend
    writeGguf(p1, spec, 'llama', /^$/, [{ name: 'rope_freqs.weight', shape: [4], type: 0, bytes: new Uint8Array(bad.buffer) }], 100);
    expect(((await loadModel(p1, backends.cpu).catch((e: unknown) => e)) as ModelLoadError).message).toMatch(/rope_freqs/);
    // Q4_1 (ggml type 3): a valid GGUF tensor the kernels do not run.
    const p2 = join(root, 'q41.gguf');
    writeFileSync(p2, encodeGguf({ 'general.architecture': { type: 'str', value: 'llama' } }, [{ name: 'blk.0.ffn_gate.weight', shape: [64, 32], type: 3, bytes: new Uint8Array(64 * 20) }]));
    const g = await GgufFile.open(p2);
    await expect(new GgufSource(g).quantized('model.layers.0.mlp.gate_proj.weight', [64, 32], 'test')).rejects.toThrow(/ggml type Q4_1 is not supported/);
    await g.close();
    const p3 = join(root, 'arch.gguf');
    writeGguf(p3, spec, 'gemma', /^$/);
    expect(((await loadModel(p3, backends.cpu).catch((e: unknown) => e)) as ModelLoadError).message).toMatch(/"gemma" is not supported/);
  });
});
