import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend } from '../../../src/backend/interface.js';
import { createBackend } from '../../../src/backend/load.js';
import { OptionsError } from '../../../src/errors.js';
import { loadModel } from '../../../src/models/load.js';
import { disposeAdapters, disposeGrads, type LoraGrads } from '../../../src/models/train/adapters.js';
import { clipGradNorm, gradNormSq } from '../../../src/models/train/clip.js';
import { LoraAdamW } from '../../../src/models/train/adamw.js';
import { LoraTrainer } from '../../../src/models/train/trainer.js';
import type { WebGpuBackend } from '../../../src/backend/webgpu/backend.js';
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

  it.each(['cpu', 'webgpu'])('%s: Σg² on the backend (gradNormSq) is the global norm squared; AdamW clipping by it (normSq) updates as clipGradNorm + AdamW does', async (bname) => {
    const b = backends[bname];
    const model = await loadModel(FIXTURE, b);
    const batch = golden.inputs.map((ids, i) => ({ ids, labels: golden.lora.labels[i] }));
    const run = async (device: boolean): Promise<Float32Array[]> => {
      const adapters = await readPeftAdapter(join(FIXTURE, 'lora'), model.config, b, 'f32');
      const opt = new LoraAdamW(b, adapters, { lr: 1e-2 });
      try {
        const r = await loraStep(model, adapters, batch);
        const before = await values(b, r.grads);
        const norm64 = Math.sqrt(before.reduce((a, t) => a + t.reduce((s, x) => s + x * x, 0), 0));
        const maxNorm = norm64 / 4;
        let flag;
        if (device) {
          const sq = gradNormSq(b, r.grads);
          // γ_n of each tensor's dot product plus the 2·(tensors) additions of the running sum.
          const got = Math.sqrt((await b.read(sq))[0]);
          expect(Math.abs(got - norm64)).toBeLessThanOrEqual((Math.max(...before.map((t) => t.length)) + 2 * before.length) * U * norm64);
          flag = opt.record(r.grads, undefined, { normSq: sq, maxGradNorm: maxNorm });
          sq.dispose();
        } else {
          await clipGradNorm(b, r.grads, maxNorm);
          flag = opt.record(r.grads);
        }
        expect((await b.read(flag))[0]).toBe(0);
        flag.dispose();
        disposeGrads(r.grads);
        const out: Float32Array[] = [];
        for (const la of adapters.layers) for (const p of Object.values(la)) out.push((await b.read(p!.A)) as Float32Array, (await b.read(p!.B)) as Float32Array);
        return out;
      } finally {
        opt.dispose();
        disposeAdapters(adapters);
      }
    };
    try {
      const host = await run(false);
      const dev = await run(true);
      // The two clip factors differ by the norm's rounding (f32 sums vs float64 on the host),
      // a relative ~n·u: an AdamW step moves each weight by ≈ lr·sign, barely by the factor.
      host.forEach((t, k) => t.forEach((x, i) => expect(Math.abs(dev[k][i] - x), `tensor ${k}[${i}]`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(x)))));
    } finally {
      model.dispose();
    }
  });

  it('webgpu: a LoraTrainer step with maxGradNorm reads nothing before the step is recorded (one wait, as without clipping)', async () => {
    const b = backends.webgpu as WebGpuBackend;
    const model = await loadModel(FIXTURE, b);
    const batch = [golden.inputs.map((ids, i) => ({ ids, labels: golden.lora.labels[i] }))];
    const submits = async (maxGradNorm?: number) => {
      const adapters = await readPeftAdapter(join(FIXTURE, 'lora'), model.config, b, 'f32');
      const t = new LoraTrainer(model, adapters, { optimizer: { lr: 1e-3 }, ...(maxGradNorm ? { maxGradNorm } : {}) });
      try {
        await t.step(batch);
        const s0 = b.rt.submitCount;
        const r = await t.step(batch);
        if (maxGradNorm) expect(r.gradNorm!).toBeGreaterThan(0);
        return b.rt.submitCount - s0;
      } finally {
        t.dispose();
      }
    };
    try {
      // Clipping adds its Σg² products, and no submission of its own for a read-back.
      expect(await submits(0.01)).toBeLessThanOrEqual((await submits()) + 1);
    } finally {
      model.dispose();
    }
  });
});
