import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend } from '../../../src/backend/interface.js';
import { createBackend } from '../../../src/backend/load.js';
import { loadModel } from '../../../src/models/load.js';
import type { LlamaModel } from '../../../src/models/llama.js';
import { LoraAdamW } from '../../../src/models/train/adamw.js';
import { disposeAdapters, disposeGrads, type LoraAdapters, type LoraGrads } from '../../../src/models/train/adapters.js';
import type { Tensor } from '../../../src/tensor.js';
import { initAdapters, loraSettings } from '../../../src/models/train/init.js';
import { readPeftAdapter } from '../../../src/models/train/peft.js';
import { loraStep } from '../../../src/models/train/step.js';
import { LoraTrainer } from '../../../src/models/train/trainer.js';
import { OPTIMIZER_FILE, STATE_FILE, resumeTrainer, saveCheckpoint } from '../../../src/models/train/checkpoint.js';
import { encodeSafetensors } from '../../../src/models/safetensors/index.js';
import { OptionsError } from '../../../src/errors.js';

const FIXTURE = join(process.cwd(), 'test', 'fixtures', 'models', 'llama');
const golden = JSON.parse(readFileSync(join(FIXTURE, 'golden.json'), 'utf8')) as { inputs: number[][]; lora: { labels: number[][] } };

let b: KernelBackend;
let model: LlamaModel;
let tmp: string;
beforeAll(async () => {
  b = await createBackend('cpu');
  model = await loadModel(FIXTURE, b);
  tmp = mkdtempSync(join(tmpdir(), 'pmetal-lora-'));
});
afterAll(() => {
  model.dispose();
  b.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('LoRA training loop (llama fixture, cpu)', () => {
  it('LoraTrainer: AdamW steps on one repeated sequence lower its loss every step; the saved adapter read back gives the same loss', async () => {
    const trainer = new LoraTrainer(model, initAdapters(model.config, loraSettings({ r: 4, alpha: 8 }), b, 'f32', 7), { optimizer: { lr: 1e-2 }, maxGradNorm: 100 });
    const batch = [{ ids: golden.inputs[0] }, { ids: golden.inputs[0] }];
    try {
      const losses: number[] = [];
      for (let s = 0; s < 8; s++) {
        const r = await trainer.step([batch]);
        expect(r.skipped).toBe(false);
        expect(r.gradNorm).toBeGreaterThan(0); // reported (clip.ts; clipping itself: clip_schedule.test.ts)
        losses.push(r.loss);
      }
      const after = await trainer.accumulate([batch]);
      disposeGrads(after.grads);
      losses.slice(1).forEach((l, i) => expect(l, `step ${i + 1}`).toBeLessThan(losses[i]));
      expect(after.loss).toBeLessThan(losses[losses.length - 1]);
      expect(after.loss).toBeLessThan(0.75 * losses[0]); // 6.02 → 2.93 when written
      const out = join(tmp, 'trained');
      await trainer.save(out);
      const back = await readPeftAdapter(out, model.config, b, 'f32');
      try {
        const again = await loraStep(model, back, batch);
        disposeGrads(again.grads);
        expect(again.loss).toBe(after.loss); // the same bits in, the same deterministic cpu ops
      } finally {
        disposeAdapters(back);
      }
    } finally {
      trainer.dispose();
    }
  });

  it('one AdamW step moves each weight by −lr·g/(|g| + eps) (step 1: m̂ = g, v̂ = g²), so every tensor gets its own gradient', async () => {
    const adapters = await readPeftAdapter(join(FIXTURE, 'lora'), model.config, b, 'f32');
    const opt = new LoraAdamW(b, adapters, { lr: 1e-3 });
    try {
      const before = await Promise.all(adapters.layers.map((la) => Promise.all(adapters.settings.targets.map((t) => Promise.all([b.read(la[t]!.A), b.read(la[t]!.B)])))));
      const r = await loraStep(model, adapters, golden.inputs.map((ids, i) => ({ ids, labels: golden.lora.labels[i] })));
      expect(await opt.step(r.grads)).toBe(true);
      for (let l = 0; l < adapters.layers.length; l++) {
        for (const [k, t] of adapters.settings.targets.entries()) {
          for (const [m, idx] of [['A', 0], ['B', 1]] as const) {
            const g = (await b.read(m === 'A' ? r.grads.layers[l][t]!.dA : r.grads.layers[l][t]!.dB)) as Float32Array;
            const now = (await b.read(m === 'A' ? adapters.layers[l][t]!.A : adapters.layers[l][t]!.B)) as Float32Array;
            const was = before[l][k][idx] as Float32Array;
            // f32: the update's own roundings (moments, bias corrections, sqrt, +eps, the division,
            // ×lr: ≤ 8, each u relative to |Δ| ≤ lr) plus the rounding of w − Δ (u·|w − Δ| ≤ u·|w| + u·lr).
            g.forEach((gi, i) => expect(Math.abs(now[i] - (was[i] - (1e-3 * gi) / (Math.abs(gi) + 1e-8))), `${l}.${t}.${m}[${i}]`).toBeLessThanOrEqual(8 * 2 ** -24 * 1e-3 + 2 ** -24 * Math.abs(was[i]) * 2));
          }
        }
      }
      disposeGrads(r.grads);
    } finally {
      opt.dispose();
      disposeAdapters(adapters);
    }
  });

  it('with LoRA dropout the gradient is the derivative of the loss the forward computed (masks regenerated right): (L(θ+εg) − L(θ−εg))/2ε = |g|²', async () => {
    const base = await readPeftAdapter(join(FIXTURE, 'lora'), model.config, b, 'f32');
    const settings = { ...base.settings, dropout: 0.25 };
    const adapters = { ...base, settings };
    const examples = golden.inputs.map((ids, i) => ({ ids, labels: golden.lora.labels[i] }));
    const seed = 11;
    const made: LoraAdapters[] = [];
    // θ + e·g as new adapters (host arithmetic in float64, rounded to f32 once).
    const shifted = async (grads: LoraGrads, e: number): Promise<LoraAdapters> => {
      const layers = await Promise.all(
        base.layers.map(async (la, l) => {
          const out: Record<string, { A: Tensor; B: Tensor }> = {};
          for (const t of settings.targets) {
            const move = async (w: Tensor, g: Tensor) => {
              const wv = (await b.read(w)) as Float32Array;
              const gv = (await b.read(g)) as Float32Array;
              return b.tensor(wv.map((x, i) => x + e * gv[i]), w.shape, 'f32');
            };
            out[t] = { A: await move(la[t]!.A, grads.layers[l][t]!.dA), B: await move(la[t]!.B, grads.layers[l][t]!.dB) };
          }
          return out;
        }),
      );
      const a = { settings, dtype: 'f32' as const, layers };
      made.push(a);
      return a;
    };
    try {
      const r = await loraStep(model, adapters, examples, { seed });
      let g2 = 0;
      for (const la of r.grads.layers) for (const p of Object.values(la)) for (const x of [p!.dA, p!.dB]) for (const v of (await b.read(x)) as Float32Array) g2 += v * v;
      const loss = async (e: number) => {
        const x = await loraStep(model, await shifted(r.grads, e), examples, { seed });
        disposeGrads(x.grads);
        return x.loss;
      };
      // Central differences at ε and 2ε: D(ε) = |g|² + c·ε² + ρ(ε), so (D(2ε) − D(ε))/3 estimates the
      // truncation c·ε² left in D(ε), up to (ρ(2ε) + ρ(ε))/3 ≤ ρ(ε)/2. ρ(ε), the rounding: each loss
      // within its bound (416 u·|L|, lora_golden.test.ts), two of them over 2ε. ε moves the loss by
      // ~1% of itself: small next to the loss's curvature, large next to its rounding.
      const eps = (1e-2 * r.loss) / g2;
      const d1 = ((await loss(eps)) - (await loss(-eps))) / (2 * eps);
      const d2 = ((await loss(2 * eps)) - (await loss(-2 * eps))) / (4 * eps);
      const rounding = (2 * 416 * 2 ** -24 * r.loss) / (2 * eps);
      const bound = Math.abs(d2 - d1) / 3 + rounding + rounding / 2;
      expect(Math.abs(d1 - g2), `D(ε) ${d1} vs |g|² ${g2}, D(2ε) ${d2}`).toBeLessThanOrEqual(bound);
      expect(bound).toBeLessThan(0.02 * g2); // a bound that could not tell a wrong mask would prove nothing
      // A different mask is a different loss: the seed really reaches the dropout.
      const other = await loraStep(model, adapters, examples, { seed: seed + 1 });
      disposeGrads(other.grads);
      expect(other.loss).not.toBe(r.loss);
      disposeGrads(r.grads);
    } finally {
      made.forEach(disposeAdapters);
      disposeAdapters(base);
    }
  });

  it('bf16 adapters on a bf16 model: AdamW keeps f32 masters, the loss falls step by step', async () => {
    const m16 = await loadModel(FIXTURE, b, { dtype: 'bf16' });
    const trainer = new LoraTrainer(m16, await readPeftAdapter(join(FIXTURE, 'lora'), m16.config, b, 'bf16'), { optimizer: { lr: 1e-2 } });
    try {
      await expect(trainer.step([[{ ids: golden.inputs[0] }]])).rejects.toThrow(/bf16 adapters need f32 master weights; call initMasters/);
      expect(trainer.optimizer.stepsTaken).toBe(0); // the refused step moved nothing
      await trainer.optimizer.initMasters();
      const losses: number[] = [];
      for (let s = 0; s < 4; s++) losses.push((await trainer.step([[{ ids: golden.inputs[0] }]])).loss);
      losses.slice(1).forEach((l, i) => expect(l, `step ${i + 1}`).toBeLessThan(losses[i]));
      expect(trainer.adapters.layers[0].q!.A.dtype).toBe('bf16');
    } finally {
      trainer.dispose();
      m16.dispose();
    }
  });

  it.each(['f32', 'bf16'] as const)('%s: a checkpoint resumes bit for bit (adapters, moments, masters, step count and dropout seeds)', async (dtype) => {
    const m = dtype === 'f32' ? model : await loadModel(FIXTURE, b, { dtype });
    const settings = loraSettings({ r: 4, alpha: 8, dropout: 0.1 });
    const first = new LoraTrainer(m, initAdapters(m.config, settings, b, dtype, 3), { optimizer: { lr: 1e-2, weightDecay: 0.01 }, maxGradNorm: 1 });
    const batch = [[{ ids: golden.inputs[1] }]];
    const dir = join(tmp, `ckpt-${dtype}`);
    let resumed: LoraTrainer | undefined;
    try {
      if (dtype !== 'f32') await first.optimizer.initMasters();
      for (let s = 0; s < 2; s++) await first.step(batch);
      await saveCheckpoint(first, dir);
      const want = [(await first.step(batch)).loss, (await first.step(batch)).loss];
      resumed = await resumeTrainer(dir, m);
      expect(resumed.stepsTaken).toBe(2);
      const got = [(await resumed.step(batch)).loss, (await resumed.step(batch)).loss];
      expect(got).toEqual(want);
      for (let l = 0; l < m.config.numLayers; l++) {
        for (const t of settings.targets) {
          for (const k of ['A', 'B'] as const) {
            const x = await b.read(first.adapters.layers[l][t]![k]);
            const y = await b.read(resumed.adapters.layers[l][t]![k]);
            expect(Buffer.from(y.buffer, y.byteOffset, y.byteLength).equals(Buffer.from(x.buffer, x.byteOffset, x.byteLength)), `${l}.${t}.${k}`).toBe(true);
          }
        }
      }
    } finally {
      first.dispose();
      resumed?.dispose();
      if (m !== model) m.dispose();
    }
  });

  it('refuses a checkpoint whose state or optimizer file does not fit', async () => {
    const trainer = new LoraTrainer(model, initAdapters(model.config, loraSettings({ r: 2, alpha: 4, targets: ['v'] }), b, 'f32', 1));
    const dir = join(tmp, 'ckpt-bad');
    try {
      await trainer.step([[{ ids: golden.inputs[1] }]]);
      await saveCheckpoint(trainer, dir);
      const state = readFileSync(join(dir, STATE_FILE), 'utf8');
      writeFileSync(join(dir, STATE_FILE), state.replace('"version": 1', '"version": 2'));
      await expect(resumeTrainer(dir, model)).rejects.toThrow(/trainer_state\.json: version/);
      writeFileSync(join(dir, STATE_FILE), state);
      const opt = await trainer.optimizer.exportState();
      const [k0] = Object.keys(opt.tensors);
      writeFileSync(join(dir, OPTIMIZER_FILE), encodeSafetensors({ ...opt.tensors, [k0.replace(/^0\./, '9.')]: opt.tensors[k0] }));
      await expect(resumeTrainer(dir, model)).rejects.toThrow(/optimizer state: "9\.v\.A\.m" names no adapter tensor/);
      const { [k0]: _dropped, ...rest } = opt.tensors;
      writeFileSync(join(dir, OPTIMIZER_FILE), encodeSafetensors(rest));
      await expect(resumeTrainer(dir, model)).rejects.toThrow(/needs both m and v/);
    } finally {
      trainer.dispose();
    }
  });

  it('refuses labels that do not fit, and a batch with nothing to learn, with OptionsErrors', async () => {
    const adapters = initAdapters(model.config, loraSettings({ r: 2, alpha: 2, targets: ['q', 'down'] }), b, 'f32');
    try {
      const ids = golden.inputs[1];
      await expect(loraStep(model, adapters, [{ ids, labels: ids.slice(1) }])).rejects.toThrow(OptionsError);
      await expect(loraStep(model, adapters, [{ ids, labels: ids.map((x, i) => (i === 3 ? 999 : x)) }])).rejects.toThrow(/labels\[0\]\[3\]: expected a token id in \[0, 320\) or -100, got 999/);
      await expect(loraStep(model, adapters, [{ ids, labels: ids.map(() => -100) }])).rejects.toThrow(/no target is counted/);
      await expect(loraStep(model, adapters, [{ ids: [5] }])).rejects.toThrow(/no target is counted/);
      await expect(loraStep(model, adapters, [{ ids }], { seed: -1 })).rejects.toThrow(/options: seed/);
      expect(() => loraSettings({ targets: ['lm_head' as never] })).toThrow(/settings: targets/);
      expect(() => new LoraTrainer(model, adapters, { lr: 1e-3 } as never)).toThrow(/trainer options: .*lr/);
      expect(() => new LoraTrainer(model, adapters, { maxGradNorm: 0 })).toThrow(/trainer options: maxGradNorm/);
      expect(() => new LoraTrainer(model, adapters, { optimizer: { lr: -1 } })).toThrow(/optimizer options: lr/);
    } finally {
      disposeAdapters(adapters);
    }
  });
});
