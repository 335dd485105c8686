import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend } from '../../../src/backend/interface.js';
import { createBackend } from '../../../src/backend/load.js';
import { OptionsError } from '../../../src/errors.js';
import { loadModel } from '../../../src/models/load.js';
import { disposeAdapters, disposeGrads, type LoraGrads } from '../../../src/models/train/adapters.js';
import { clipGradNorm } from '../../../src/models/train/clip.js';
import { readPeftAdapter } from '../../../src/models/train/peft.js';
import { loraStep } from '../../../src/models/train/step.js';

const FIXTURE = join(process.cwd(), 'test', 'fixtures', 'models', 'llama');
const golden = JSON.parse(readFileSync(join(FIXTURE, 'golden.json'), 'utf8')) as { inputs: number[][]; lora: { labels: number[][] } };
const U = 2 ** -24;

const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  backends.cpu = await createBackend('cpu');
  backends.webgpu = await createBackend('webgpu');
});
afterAll(() => Object.values(backends).forEach((b) => b.dispose()));

/** Every gradient tensor's values, in a fixed order. */
async function values(b: KernelBackend, g: LoraGrads): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const la of g.layers) for (const p of Object.values(la)) out.push((await b.read(p!.dA)) as Float32Array, (await b.read(p!.dB)) as Float32Array);
  return out;
}

describe('global gradient-norm clipping of the adapters', () => {
  it.each(['cpu', 'webgpu'])('%s: the norm of every gradient together, then each × maxNorm/(norm + 1e-6); none when under', async (bname) => {
    const b = backends[bname];
    const model = await loadModel(FIXTURE, b);
    const adapters = await readPeftAdapter(join(FIXTURE, 'lora'), model.config, b, 'f32');
    const step = () => loraStep(model, adapters, golden.inputs.map((ids, i) => ({ ids, labels: golden.lora.labels[i] })));
    try {
      const r = await step();
      const before = await values(b, r.grads);
      const norm64 = Math.sqrt(before.reduce((a, t) => a + t.reduce((s, x) => s + x * x, 0), 0));
      const n = Math.max(...before.map((t) => t.length));
      // Each tensor's Σg² is one f32 dot product: relative γ_n ≈ n·u of the (positive) sum on a GPU,
      // one rounding on cpu; the square root halves a relative error; the host sum and sqrt in float64.
      const normBound = (bname === 'cpu' ? 1 : n) * U * norm64;
      const under = await clipGradNorm(b, r.grads, 2 * norm64);
      expect(Math.abs(under - norm64)).toBeLessThanOrEqual(normBound);
      (await values(b, r.grads)).forEach((t, k) => expect(Buffer.from(t.buffer).equals(Buffer.from(before[k].buffer)), `tensor ${k} untouched`).toBe(true));

      const norm = await clipGradNorm(b, r.grads, norm64 / 4);
      expect(Math.abs(norm - norm64)).toBeLessThanOrEqual(normBound);
      const c = norm64 / 4 / (norm + 1e-6);
      // fl(c) then one product rounding: 2u of |g·c|.
      (await values(b, r.grads)).forEach((t, k) => t.forEach((x, i) => expect(Math.abs(x - before[k][i] * c), `tensor ${k}[${i}]`).toBeLessThanOrEqual(2 * U * Math.abs(before[k][i] * c))));
      disposeGrads(r.grads);
      await expect(clipGradNorm(b, (await step()).grads, 0)).rejects.toThrow(OptionsError);
    } finally {
      disposeAdapters(adapters);
      model.dispose();
    }
  });
});
