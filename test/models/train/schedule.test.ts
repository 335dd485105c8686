import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../../src/errors.js';
import { PackedLoader } from '../../../src/models/train/data/loader.js';
import { loadDataset } from '../../../src/models/train/data/dataset.js';
import { StepPlan, cosineWithWarmup } from '../../../src/models/train/schedule.js';
import { fixtureTokenizer, jsonlFile } from './files.js';

/**
 * transformers' optimization.py, transliterated line by line:
 * _get_cosine_schedule_with_warmup_lr_lambda and the min_lr_rate variant.
 */
function hfLambda(current_step: number, num_warmup_steps: number, num_training_steps: number, num_cycles = 0.5, min_lr_rate = 0.0): number {
  if (current_step < num_warmup_steps) return current_step / Math.max(1, num_warmup_steps);
  const progress = (current_step - num_warmup_steps) / Math.max(1, num_training_steps - num_warmup_steps);
  let factor = 0.5 * (1.0 + Math.cos(Math.PI * num_cycles * 2.0 * progress));
  factor = factor * (1 - min_lr_rate) + min_lr_rate;
  return Math.max(0, factor);
}

describe('cosineWithWarmup', () => {
  const configs = [
    { peakLr: 2e-4, totalSteps: 10, warmupSteps: 0 },
    { peakLr: 2e-4, totalSteps: 20, warmupSteps: 3 },
    { peakLr: 1e-3, totalSteps: 101, warmupSteps: 10, minLrRate: 0.1 },
    { peakLr: 5e-5, totalSteps: 40, warmupSteps: 4, numCycles: 1 },
    { peakLr: 1, totalSteps: 7, warmupSteps: 7 },
  ];
  for (const c of configs) {
    it(`follows transformers' lambda at every step: ${JSON.stringify(c)}`, () => {
      const s = cosineWithWarmup(c);
      for (let step = 0; step <= c.totalSteps; step++) {
        expect(s.lr(step)).toBeCloseTo(c.peakLr * hfLambda(step, c.warmupSteps, c.totalSteps, c.numCycles, c.minLrRate), 15);
      }
    });
  }

  it('has the landmarks of the formula: 0 at the start of warm-up, peak after it, the floor at the end, halfway at mid-decay', () => {
    const s = cosineWithWarmup({ peakLr: 3e-4, totalSteps: 110, warmupSteps: 10, minLrRate: 0.2 });
    expect(s.lr(0)).toBe(0);
    expect(s.lr(5)).toBeCloseTo(1.5e-4, 18);
    expect(s.lr(10)).toBeCloseTo(3e-4, 18);
    expect(s.lr(60)).toBeCloseTo(3e-4 * 0.6, 18);
    expect(s.lr(110)).toBeCloseTo(3e-4 * 0.2, 18);
    for (let k = 10; k < 110; k++) expect(s.lr(k + 1)).toBeLessThanOrEqual(s.lr(k));
  });

  it('rounds warmupRatio up as TrainingArguments does', () => {
    expect(cosineWithWarmup({ peakLr: 1, totalSteps: 95, warmupRatio: 0.1 }).warmupSteps).toBe(10);
    expect(cosineWithWarmup({ peakLr: 1, totalSteps: 100, warmupRatio: 0.1 }).warmupSteps).toBe(10);
    expect(cosineWithWarmup({ peakLr: 1, totalSteps: 100 }).warmupSteps).toBe(0);
  });

  it('validates options and steps', () => {
    expect(() => cosineWithWarmup({ peakLr: 0, totalSteps: 1 })).toThrow(/'peakLr'/);
    expect(() => cosineWithWarmup({ peakLr: 1, totalSteps: 0 })).toThrow(/'totalSteps'/);
    expect(() => cosineWithWarmup({ peakLr: 1, totalSteps: 10, warmupSteps: 1, warmupRatio: 0.1 })).toThrow(/not both/);
    expect(() => cosineWithWarmup({ peakLr: 1, totalSteps: 10, warmupSteps: 11 })).toThrow(/warmupSteps ≤ totalSteps/);
    expect(() => cosineWithWarmup({ peakLr: 1, totalSteps: 10, minLrRate: 1.5 })).toThrow(OptionsError);
    const s = cosineWithWarmup({ peakLr: 1, totalSteps: 10 });
    expect(() => s.lr(11)).toThrow(/\[0, 10\]/);
    expect(() => s.lr(-1)).toThrow(OptionsError);
    expect(() => s.lr(1.5)).toThrow(OptionsError);
  });
});

describe('StepPlan (gradient accumulation)', () => {
  // 7 micro-batches an epoch with unequal trained-token counts.
  const TOKENS = [5, 1, 9, 2, 2, 30, 4];
  const source = { batchesPerEpoch: TOKENS.length, trainedTokens: (_e: number, b: number) => TOKENS[b] };

  it('groups G micro-batches a step, the last step of an epoch taking the rest; steps never span epochs', () => {
    const p = new StepPlan(source, { gradAccum: 3, epochs: 2 });
    expect([p.stepsPerEpoch, p.totalSteps]).toEqual([3, 6]);
    expect(Array.from({ length: 6 }, (_, k) => p.step(k).microBatches.map((c) => `${c.epoch}:${c.batch}`).join(' '))).toEqual(['0:0 0:1 0:2', '0:3 0:4 0:5', '0:6', '1:0 1:1 1:2', '1:3 1:4 1:5', '1:6']);
    expect(p.step(1).trainedTokens).toBe(34);
    for (let k = 0; k < 6; k++) {
      const s = p.step(k);
      expect(s.meanLossWeights.reduce((a, w) => a + w, 0)).toBeCloseTo(1, 14);
      expect(p.stepAt(s.microBatches[0])).toBe(k);
      expect(p.cursorOf(k)).toEqual(s.microBatches[0]);
    }
    expect(p.cursorOf(6)).toEqual({ epoch: 2, batch: 0 });
    expect(p.stepAt(p.cursorOf(6))).toBe(6);
    expect(() => p.cursorOf(7)).toThrow(OptionsError);
    expect(() => p.step(6)).toThrow(OptionsError);
    expect(() => p.stepAt({ epoch: 0, batch: 1 })).toThrow(/not the first micro-batch/);
  });

  it("normalises the step's loss by all its trained tokens, not by the mean of micro-batch means", () => {
    const p = new StepPlan(source, { gradAccum: 3, epochs: 1 });
    const s = p.step(1); // micro-batches of 2, 2 and 30 tokens
    // Per-token losses: micro-batch i's tokens all have loss i + 1.
    const tokenLosses = s.microBatches.map((c, i) => new Array(TOKENS[c.batch]).fill(i + 1));
    const all = tokenLosses.flat();
    const target = all.reduce((a, x) => a + x, 0) / all.length;
    const sums = tokenLosses.map((l) => l.reduce((a, x) => a + x, 0));
    const means = tokenLosses.map((l, i) => sums[i] / l.length);
    expect(sums.reduce((a, x) => a + x * s.sumLossScale, 0)).toBeCloseTo(target, 14);
    expect(means.reduce((a, m, i) => a + m * s.meanLossWeights[i], 0)).toBeCloseTo(target, 14);
    // The naive mean of means differs here (unequal micro-batches), so the check above can fail.
    expect(Math.abs(means.reduce((a, m) => a + m, 0) / means.length - target)).toBeGreaterThan(0.1);
  });

  it('takes the trained tokens from a real loader and validates its options', async () => {
    const tok = await fixtureTokenizer();
    const file = jsonlFile(Array.from({ length: 12 }, (_, i) => ({ messages: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: 'r'.repeat(1 + i) }] })));
    const loader = new PackedLoader(await loadDataset(file, tok, { maxSeqLen: 24 }), { batchSize: 1, seed: 0 });
    const p = new StepPlan(loader, { gradAccum: 2, epochs: 1 });
    const s = p.step(0);
    expect(s.trainedTokens).toBe(s.microBatches.reduce((a, c) => a + loader.batch(c).trainedTokens, 0));
    expect(() => new StepPlan(loader, { gradAccum: 0, epochs: 1 })).toThrow(/'gradAccum'/);
    expect(() => new StepPlan(loader, { gradAccum: 1, epochs: 0 })).toThrow(/'epochs'/);
  });
});
