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
import { mlxQ, mlxQuantize } from '../../../src/ops/quant/mlx.js';
import { randomInts, uniform } from '../../../src/ops/random.js';
import { tinyConfig, tinyWeights, type TinySpec } from '../tiny_checkpoint.js';
import { boundUlps, pathOps } from './bounds.js';

/**
 * QLoRA on an MLX-quantized checkpoint (mlx_lm's layout, as mlx.test.ts writes it): the
 * projections and the tied embedding stay packed, fused_lora_forward/backward take them as
 * w + scales + biases. Compared with the same step on a dense checkpoint of the dequantized
 * weights (s·q + b), which the test checks are exact in f32 — so both models hold the same W
 * and any difference is op rounding, bounded by the golden test's per-op model (bounds.ts).
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

/** Writes `q4` (MLX 4-bit) and `dense` (its dequantized weights, f32) checkpoints. */
function writeCheckpoints(): { q4: string; dense: string } {
  const q4 = join(root, 'q4');
  const dense = join(root, 'dense');
  mkdirSync(q4);
  mkdirSync(dense);
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
        const w = f16ToNumber((q.scales as Uint16Array)[g]) * mlxQ(q.w, (r * k * 4) / 32, c, 4) + f16ToNumber((q.biases as Uint16Array)[g]);
        // The precondition of the comparison: the dense checkpoint holds W itself, not a rounding of it.
        if (Math.fround(w) !== w) throw new Error(`${name}[${r},${c}]: s·q + b = ${w} is not exact in f32`);
        d[r * k + c] = w;
      }
    deq[name] = { dtype: 'f32', shape: t.shape, data: d };
  }
  writeFileSync(join(q4, 'config.json'), JSON.stringify({ ...tinyConfig(SPEC), quantization: { group_size: GROUP, bits: 4 } }));
  writeFileSync(join(q4, 'model.safetensors'), encodeSafetensors(packed));
  writeFileSync(join(dense, 'config.json'), JSON.stringify(tinyConfig(SPEC)));
  writeFileSync(join(dense, 'model.safetensors'), encodeSafetensors(deq));
  return { q4, dense };
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

describe('QLoRA: LoRA on an MLX 4-bit checkpoint, the base weights kept packed', () => {
  const files = writeCheckpoints();
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

  it.each(['cpu', 'webgpu', 'metal'])('on %s: the loss and every adapter gradient are the dense-dequantized model\'s (cpu) within the derived bound', async (bname) => {
    const b = backends[bname];
    const model = await loadModel(files.q4, b);
    // Packed, not dequantized at load: the layers are MLX Linears.
    expect(model.parameters.layers[0].q.kind).toBe('mlx');
    expect(model.parameters.lmHead.kind).toBe('mlx');
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
    const model = await loadModel(files.q4, b);
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
