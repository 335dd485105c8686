import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { loadModel } from '../../src/models/load.js';
import { randomInts } from '../../src/ops/random.js';
import { referenceLogits, refInvFreq } from './reference_llama.js';
import { writeTinyCheckpoint, type TinySpec } from './tiny_checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'pmetal-llama-gpu-'));
const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  backends.webgpu = await createBackend('webgpu');
  backends.metal = await createBackend('metal', { metal: { chip: 'M5' } });
});
afterAll(() => {
  Object.values(backends).forEach((b) => b.dispose());
  rmSync(root, { recursive: true, force: true });
});

// One model that uses every path at once: GQA, q/k norms, a window shorter than the sequence.
const SPEC: TinySpec = { model_type: 'qwen3', slidingWindow: 4, layers: 2 };
const seqs = [Array.from(randomInts('i32', [12], 21, 0, 40).data), Array.from(randomInts('i32', [5], 22, 0, 40).data)];

describe('LlamaModel on the GPU backends (f32)', () => {
  it.each(['webgpu', 'metal'])('%s: logits against the independent float64 forward', async (name) => {
    const dir = join(root, name);
    // Qwen3 config files carry layer_types in transformers 5; here the window comes from use_sliding_window.
    const w = writeTinyCheckpoint(dir, SPEC);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, use_sliding_window: true, max_window_layers: 0 }));
    const model = await loadModel(dir, backends[name]);
    const got = await model.forward(seqs);
    model.dispose();
    seqs.forEach((ids, b) => {
      const ref = referenceLogits({ hidden: 32, heads: 4, kvHeads: 2, headDim: 8, eps: 1e-5, invFreq: refInvFreq(10000, 8), window: 4, qkNorm: true, tie: false, layers: 2 }, w, ids, false);
      const flat = ref.flatMap((r) => Array.from(r));
      const maxRef = Math.max(...flat.map(Math.abs));
      // f32 arithmetic on the device: every op's result is within (reduction length ≤ 64)·2^-24
      // of its terms' magnitude, and a path crosses ~30 ops: 30·64·2^-24 of the largest logit.
      const bound = 30 * 64 * 2 ** -24 * maxRef;
      let worst = 0;
      flat.forEach((x, i) => (worst = Math.max(worst, Math.abs(got[b][i] - x))));
      expect(worst).toBeLessThanOrEqual(bound);
      expect(maxRef).toBeGreaterThan(0.5);
    });
  });
});
