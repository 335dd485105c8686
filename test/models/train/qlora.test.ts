import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend } from '../../../src/backend/interface.js';
import { createBackend } from '../../../src/backend/load.js';
import { f16ToNumber } from '../../../src/dtype.js';
import { loadModel } from '../../../src/models/load.js';
import type { LlamaModel } from '../../../src/models/llama.js';
import { encodeSafetensors, type TensorToWrite } from '../../../src/models/safetensors/index.js';
import { disposeAdapters, disposeGrads, targetDims, type LoraAdapters, type LoraGrads } from '../../../src/models/train/adapters.js';
import { loraSettings } from '../../../src/models/train/init.js';
import { loraStep, type TrainExample } from '../../../src/models/train/step.js';
import { LoraTrainer } from '../../../src/models/train/trainer.js';
import { initAdapters } from '../../../src/models/train/init.js';
import { hfToGguf } from '../../../src/models/gguf/source.js';
import { ggufElement, quantizeQ8_0 } from '../../../src/ops/quant/gguf.js';
import { mlxQ, mlxQuantize } from '../../../src/ops/quant/mlx.js';
import { randomInts, uniform } from '../../../src/ops/random.js';
import { encodeGguf, type GgufTensor, type Meta } from '../gguf_writer.js';
import { tinyConfig, tinyWeights, type TinySpec } from '../tiny_checkpoint.js';
import { boundUlps, pathOps } from './bounds.js';

/**
 * QLoRA on quantized checkpoints: MLX 4-bit (mlx_lm's layout, as mlx.test.ts writes it) and a
 * GGUF with Q8_0 blocks (as gguf-model.test.ts writes one). The projections and the tied
 * embedding stay packed; fused_lora_forward/backward take them as w (+ scales, biases).
 * Compared with the same step on a dense checkpoint of the dequantized weights (s·q + b,
 * d·q), which the test checks are exact in f32 — so both models hold the same W and any
 * difference is op rounding, bounded by the golden test's per-op model (bounds.ts).
 */
const root = mkdtempSync(join(tmpdir(), 'pmetal-qlora-'));
const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  backends.cpu = await createBackend('cpu');
  backends.webgpu = await createBackend('webgpu');
  backends.metal = await createBackend('metal', { metal: { chip: 'M5' } });
});
afterAll(() => {
  Object.values(backends).forEach((b) => b.dispose());
  rmSync(root, { recursive: true, force: true });
});

// Qwen2: q/k/v biases on packed layers (added by the [1, N] bias gemm); tied: the packed embedding is the lm_head.
const SPEC: TinySpec = { model_type: 'qwen2', tie: true, hidden: 32, intermediate: 64 };
const GROUP = 32;
const U = 2 ** -24;

/**
 * A dequantized weight (computed in float64) as it goes into the f32 dense twin. The
 * precondition of the comparison: the twin holds W itself, not a rounding of it.
 */
function exactF32(name: string, e: number, w: number): number {
  if (Math.fround(w) !== w) throw new Error(`${name}[${e}]: the dequantized ${w} is not exact in f32`);
  return w;
}

/** The dense twin of a packed checkpoint: the dequantized weights in f32. */
function writeDense(dir: string, deq: Record<string, TensorToWrite>, eps: number): void {
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...tinyConfig(SPEC), rms_norm_eps: eps }));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(deq));
}

/** A GGUF of the same weights with every projection and the embedding in Q8_0 blocks, and its dense twin. */
function writeQ8Gguf(): { packed: string; dense: string } {
  const packed = join(root, 'q8.gguf');
  const tensors: GgufTensor[] = [];
  const deq: Record<string, TensorToWrite> = {};
  for (const [name, t] of tinyWeights(SPEC)) {
    if (!(t.shape.length === 2 && /(_proj|embed_tokens)\.weight$/.test(name))) {
      tensors.push({ name: hfToGguf(name), shape: t.shape, type: 0, bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) });
      deq[name] = { dtype: 'f32', shape: t.shape, data: t.data };
      continue;
    }
    const [n, k] = t.shape;
    const rowBytes = (k / 32) * 34;
    const bytes = new Uint8Array(n * rowBytes);
    for (let r = 0; r < n; r++) quantizeQ8_0(t.data.subarray(r * k, (r + 1) * k), k, bytes, r * rowBytes);
    tensors.push({ name: hfToGguf(name), shape: t.shape, type: 8, bytes });
    deq[name] = { dtype: 'f32', shape: t.shape, data: new Float32Array(n * k).map((_, e) => exactF32(name, e, ggufElement('q8_0', bytes, Math.floor(e / k) * rowBytes + Math.floor((e % k) / 32) * 34, e % 32))) };
  }
  const c = tinyConfig(SPEC) as Record<string, number>;
  const meta: Record<string, Meta> = {
    'general.architecture': { type: 'str', value: 'qwen2' },
    'qwen2.block_count': { type: 'u32', value: c.num_hidden_layers },
    'qwen2.embedding_length': { type: 'u32', value: c.hidden_size },
    'qwen2.feed_forward_length': { type: 'u32', value: c.intermediate_size },
    'qwen2.attention.head_count': { type: 'u32', value: c.num_attention_heads },
    'qwen2.attention.head_count_kv': { type: 'u32', value: c.num_key_value_heads },
    'qwen2.attention.key_length': { type: 'u32', value: c.head_dim },
    'qwen2.attention.layer_norm_rms_epsilon': { type: 'f32', value: c.rms_norm_eps },
    'qwen2.rope.freq_base': { type: 'f32', value: c.rope_theta },
    'qwen2.context_length': { type: 'u32', value: c.max_position_embeddings },
  };
  writeFileSync(packed, encodeGguf(meta, tensors));
  // GGUF stores eps as an f32: the twin gets the same value, so the models differ in nothing but W's storage.
  writeDense(join(root, 'q8-dense'), deq, Math.fround(c.rms_norm_eps));
  return { packed, dense: join(root, 'q8-dense') };
}

/** `q4` (MLX 4-bit) and its dense twin. */
function writeMlx4(): { packed: string; dense: string } {
  const q4 = join(root, 'q4');
  const dense = join(root, 'q4-dense');
  mkdirSync(q4);
  const packed: Record<string, TensorToWrite> = {};
  const deq: Record<string, TensorToWrite> = {};
  for (const [name, t] of tinyWeights(SPEC)) {
    if (!(t.shape.length === 2 && /(_proj|embed_tokens)\.weight$/.test(name))) {
      packed[name] = deq[name] = { dtype: 'f32', shape: t.shape, data: t.data };
      continue;
    }
    const [n, k] = t.shape;
    const q = mlxQuantize(t.data, n, k, 4, GROUP, 'f16');
    const base = name.replace(/\.weight$/, '');
    packed[`${base}.weight`] = { dtype: 'u32', shape: [n, k / 8], data: q.w };
    packed[`${base}.scales`] = { dtype: 'f16', shape: [n, k / GROUP], data: q.scales as Uint16Array };
    packed[`${base}.biases`] = { dtype: 'f16', shape: [n, k / GROUP], data: q.biases as Uint16Array };
    const d = new Float32Array(n * k);
    for (let r = 0; r < n; r++)
      for (let c = 0; c < k; c++) {
        const g = r * (k / GROUP) + Math.floor(c / GROUP);
        d[r * k + c] = exactF32(name, r * k + c, f16ToNumber((q.scales as Uint16Array)[g]) * mlxQ(q.w, (r * k * 4) / 32, c, 4) + f16ToNumber((q.biases as Uint16Array)[g]));
      }
    deq[name] = { dtype: 'f32', shape: t.shape, data: d };
  }
  writeFileSync(join(q4, 'config.json'), JSON.stringify({ ...tinyConfig(SPEC), quantization: { group_size: GROUP, bits: 4 } }));
  writeFileSync(join(q4, 'model.safetensors'), encodeSafetensors(packed));
  writeDense(dense, deq, (tinyConfig(SPEC) as Record<string, number>).rms_norm_eps);
  return { packed: q4, dense };
}

// q, v, o, down adapted; k, gate, up left frozen, so an unadapted packed projection's backward
// (dx = dy·W through a dequantized copy) is on the path, as is the packed tied lm_head's.
const SETTINGS = loraSettings({ r: 4, alpha: 8, targets: ['q', 'v', 'o', 'down'] });

/** The same adapters on any model: A and B uniform (B ≠ 0, else every dA would be 0), seeded per tensor. */
function adapters(model: LlamaModel): LoraAdapters {
  const b = model.backend;
  let seed = 100;
  const layers = Array.from({ length: model.config.numLayers }, () =>
    Object.fromEntries(
      SETTINGS.targets.map((t) => {
        const d = targetDims(model.config, t);
        const A = uniform('f32', [SETTINGS.r, d.in], seed++, -0.5, 0.5).data as Float32Array;
        const B = uniform('f32', [d.out, SETTINGS.r], seed++, -0.5, 0.5).data as Float32Array;
        return [t, { A: b.tensor(A, [SETTINGS.r, d.in], 'f32'), B: b.tensor(B, [d.out, SETTINGS.r], 'f32') }];
      }),
    ),
  );
  return { settings: SETTINGS, dtype: 'f32', layers };
}

const seqs = [Array.from(randomInts('i32', [13], 5, 0, 40).data), Array.from(randomInts('i32', [9], 6, 0, 40).data)];
const EXAMPLES: TrainExample[] = [{ ids: seqs[0], labels: seqs[0].map((id, i) => (i < 4 ? -100 : id)) }, { ids: seqs[1] }];

async function readGrads(b: KernelBackend, g: LoraGrads): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [l, layer] of g.layers.entries())
    for (const [t, p] of Object.entries(layer)) {
      out.set(`${l}.${t}.A`, (await b.read(p!.dA)) as Float32Array);
      out.set(`${l}.${t}.B`, (await b.read(p!.dB)) as Float32Array);
    }
  return out;
}

const FORMATS = { mlx4: { write: writeMlx4, kind: 'mlx' }, q8_0: { write: writeQ8Gguf, kind: 'gguf' } } as const;

describe.each(Object.keys(FORMATS) as (keyof typeof FORMATS)[])('QLoRA on a %s checkpoint, the base weights kept packed', (format) => {
  const files = FORMATS[format].write();
  let want: { loss: number; grads: Map<string, Float32Array> };
  beforeAll(async () => {
    const model = await loadModel(files.dense, backends.cpu);
    const a = adapters(model);
    try {
      const r = await loraStep(model, a, EXAMPLES);
      want = { loss: r.loss, grads: await readGrads(backends.cpu, r.grads) };
      disposeGrads(r.grads);
    } finally {
      disposeAdapters(a);
      model.dispose();
    }
  });

  it.each(['cpu', 'webgpu', 'metal'])("on %s: the loss and every adapter gradient are the dense-dequantized model's (cpu) within the derived bound", async (bname) => {
    const b = backends[bname];
    const model = await loadModel(files.packed, b);
    // Packed, not dequantized at load.
    expect(model.parameters.layers[0].q.kind).toBe(FORMATS[format].kind);
    expect(model.parameters.lmHead.kind).toBe(FORMATS[format].kind);
    const a = adapters(model);
    try {
      const r = await loraStep(model, a, EXAMPLES);
      const got = await readGrads(b, r.grads);
      disposeGrads(r.grads);
      const c = model.config;
      const S = Math.max(...seqs.map((s) => s.length));
      const T = seqs[0].length + seqs[1].length;
      // Each run is within its own bound of the float64 step on this W (exact in both
      // checkpoints); the packed one has one more op a layer on the q/k/v path: the bias gemm (K = 1).
      const extra = Array.from({ length: c.numLayers }, () => 1);
      const gpu = bname !== 'cpu';
      const lossBound = (boundUlps(pathOps(c, S, T, false), false) + boundUlps([...pathOps(c, S, T, false), ...extra], gpu)) * U * Math.abs(want.loss);
      expect(Math.abs(r.loss - want.loss), 'loss').toBeLessThanOrEqual(lossBound);
      const gradBound = (boundUlps(pathOps(c, S, T, true), false) + boundUlps([...pathOps(c, S, T, true), ...extra], gpu)) * U;
      expect([...got.keys()]).toEqual([...want.grads.keys()]);
      for (const [key, w] of want.grads) {
        const h = got.get(key)!;
        const max = w.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        expect(max, `${key}: a gradient to compare`).toBeGreaterThan(0);
        let worst = 0;
        w.forEach((x, i) => (worst = Math.max(worst, Math.abs(h[i] - x))));
        expect(worst, `${key}: max |Δ| (max |g| ${max})`).toBeLessThanOrEqual(gradBound * max);
      }
    } finally {
      disposeAdapters(a);
      model.dispose();
    }
  });

  it.each(['cpu', 'webgpu'])('on %s: AdamW steps on the packed model lower the loss every step', async (bname) => {
    const b = backends[bname];
    const model = await loadModel(files.packed, b);
    const trainer = new LoraTrainer(model, initAdapters(model.config, SETTINGS, b, 'f32', 3), { optimizer: { lr: 2e-2 } });
    try {
      const losses: number[] = [];
      for (let s = 0; s < 6; s++) {
        const r = await trainer.step([EXAMPLES]);
        expect(r.skipped).toBe(false);
        losses.push(r.loss);
      }
      losses.slice(1).forEach((l, i) => expect(l, `step ${i + 1}`).toBeLessThan(losses[i]));
      expect(losses[5]).toBeLessThan(0.9 * losses[0]);
    } finally {
      trainer.dispose();
      model.dispose();
    }
  });
});
