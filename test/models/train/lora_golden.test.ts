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
import { boundUlps, pathOps } from './bounds.js';

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
