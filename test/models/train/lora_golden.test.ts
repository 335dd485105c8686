import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend } from '../../../src/backend/interface.js';
import { createBackend } from '../../../src/backend/load.js';
import type { ModelConfig } from '../../../src/models/config.js';
import { loadModel } from '../../../src/models/load.js';
import { Checkpoint } from '../../../src/models/safetensors/index.js';
import { disposeGrads, type LoraGrads, type LoraTarget } from '../../../src/models/train/adapters.js';
import { LoraTrainer } from '../../../src/models/train/trainer.js';
import { peftKey, readPeftAdapter } from '../../../src/models/train/peft.js';
import { loraStep } from '../../../src/models/train/step.js';

/**
 * One LoRA step of peft on the committed tiny models (scripts/fixtures/make_tiny_models.py:
 * labels with sequence 0's first 8 masked, each sequence run alone, mean CE over the counted
 * shifted targets) against pmetal's packed step: the loss, and every adapter gradient of the
 * float64 run (lora/grads.safetensors).
 */
const FIXTURES = process.env.PMETAL_MODEL_FIXTURES ?? join(process.cwd(), 'test', 'fixtures', 'models');
const ARCHS = ['llama', 'qwen2', 'qwen3', 'mistral'].filter((a) => existsSync(join(FIXTURES, a, 'lora', 'grads.safetensors')));
const U = 2 ** -24;

interface Golden {
  inputs: number[][];
  lora: { labels: number[][]; tokens_in_loss: number; loss: number };
}

/**
 * The bound, in units of u = 2^-24 relative to the largest |value| of the compared tensor
 * (elements near zero carry the error of the large ones they are summed from), by the model
 * the logits golden test uses (golden.test.ts): every op on the path from the inputs to the
 * result adds its output rounding, amplified by a local gain of at most 16 (cpu: float64
 * inside each op, one f32 rounding out), and on a GPU its f32 sums add γ_L ≈ L·u of the
 * summed magnitudes for an L-term reduction. The ops and their L, in path order:
 *   forward: embedding; per layer input norm (H), q/k/v projection (H), q/k norm (D, Qwen3),
 *   rope, attention (S keys), o projection (Hq·D), residual add, post norm (H), gate/up (H),
 *   swiglu, down (I), residual add; final norm (H), lm head (H), cross-entropy (V).
 *   backward: cross-entropy (elementwise with lse), lm head (V), final norm (H); per layer
 *   down (H; its dA/dB sum T tokens), swiglu, gate/up (I), add, post norm (H), add,
 *   o (H), attention (S), rope, q/k norm (D), q/k/v (Hq·D; dA/dB T), add, add, input norm (H), add.
 */
function pathOps(c: ModelConfig, S: number, T: number, backward: boolean): number[] {
  const H = c.hiddenSize;
  const D = c.headDim;
  const q = c.numHeads * D;
  const I = c.intermediateSize;
  const qk = c.qkNorm ? [D] : [];
  const fwdLayer = [H, H, ...qk, 1, S, q, 1, H, H, 1, I, 1];
  const fwd = [1, ...Array.from({ length: c.numLayers }, () => fwdLayer).flat(), H, H, c.vocabSize];
  if (!backward) return fwd;
  const bwdLayer = [Math.max(H, T), 1, I, 1, H, 1, H, S, 1, ...qk, Math.max(q, T), 1, 1, H, 1];
  return [...fwd, 1, c.vocabSize, H, ...Array.from({ length: c.numLayers }, () => bwdLayer).flat()];
}
const boundUlps = (ops: number[], gpu: boolean): number => ops.reduce((a, L) => a + 16 + (gpu ? L : 0), 0);

const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  if (ARCHS.length === 0) return;
  backends.cpu = await createBackend('cpu');
  backends.webgpu = await createBackend('webgpu');
  backends.metal = await createBackend('metal', { metal: { chip: 'M5' } });
});
afterAll(() => Object.values(backends).forEach((b) => b.dispose()));

/** Every adapter gradient against the golden file, within `bound` × max |g| of each tensor. */
async function expectGrads(b: KernelBackend, ck: Checkpoint, c: ModelConfig, targets: readonly LoraTarget[], grads: LoraGrads, bound: number): Promise<void> {
  let compared = 0;
  for (let l = 0; l < c.numLayers; l++) {
    for (const t of targets) {
      const got = grads.layers[l][t]!;
      for (const [m, tensor] of [['A', got.dA], ['B', got.dB]] as const) {
        const key = peftKey(l, t, m);
        const want = (await ck.read(key, { shape: tensor.shape })).data as Float32Array;
        const have = (await b.read(tensor)) as Float32Array;
        const max = want.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
        let worst = 0;
        want.forEach((x, i) => (worst = Math.max(worst, Math.abs(have[i] - x))));
        expect(worst, `${key}: max |Δ| (max |g| ${max})`).toBeLessThanOrEqual(bound * max);
        compared++;
      }
    }
  }
  // Every tensor of the golden file was compared (7 targets × 2 × layers), none skipped.
  expect(compared).toBe(ck.names().length);
}

describe.skipIf(ARCHS.length === 0)('LoRA step against peft (test/fixtures/models/*/lora)', () => {
  const cases = ARCHS.flatMap((a) => ['cpu', 'webgpu', 'metal'].map((b) => [a, b] as const));
  it.each(cases)('%s on %s: loss and every adapter gradient within the derived bound, packed in one batch and as two accumulated micro-batches', async (arch, bname) => {
    const dir = join(FIXTURES, arch);
    const g: Golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8'));
    const b = backends[bname];
    const gpu = bname !== 'cpu';
    const model = await loadModel(dir, b);
    const adapters = await readPeftAdapter(join(dir, 'lora'), model.config, b, 'f32');
    const trainer = new LoraTrainer(model, adapters);
    const ck = await Checkpoint.openFile(join(dir, 'lora', 'grads.safetensors'));
    try {
      const examples = g.inputs.map((ids, i) => ({ ids, labels: g.lora.labels[i] }));
      const S = Math.max(...g.inputs.map((s) => s.length));
      const T = g.inputs.reduce((a, s) => a + s.length, 0);
      const c = model.config;
      const lossBound = boundUlps(pathOps(c, S, T, false), gpu) * U * Math.abs(g.lora.loss);
      const gradBound = boundUlps(pathOps(c, S, T, true), gpu) * U;

      const r = await loraStep(model, adapters, examples);
      expect(r.counted).toBe(g.lora.tokens_in_loss);
      expect(Math.abs(r.loss - g.lora.loss), 'loss').toBeLessThanOrEqual(lossBound);
      await expectGrads(b, ck, c, adapters.settings.targets, r.grads, gradBound);
      disposeGrads(r.grads);

      // One micro-batch per sequence (the way peft ran them): each gradient scaled by its share of
      // the counted targets and summed by fused_lora_backward's accumulate — one more op (16 u).
      const acc = await trainer.accumulate(examples.map((e) => [e]));
      expect(acc.counted).toBe(g.lora.tokens_in_loss);
      expect(Math.abs(acc.loss - g.lora.loss), 'accumulated loss').toBeLessThanOrEqual(lossBound + 16 * U * Math.abs(g.lora.loss));
      await expectGrads(b, ck, c, adapters.settings.targets, acc.grads, gradBound + 16 * U);
      disposeGrads(acc.grads);
    } finally {
      trainer.dispose();
      model.dispose();
      await ck.close();
    }
  });
});
