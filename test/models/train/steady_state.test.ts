// A training step's host cost on webgpu (issue 12): AdamW updates the adapters, moments
// and masters in place, and the buffer pool hands a step the same buffers as the step
// before, so after warm-up a step creates no bind group and no buffer, and submits only
// its dispatch batches and two for its reads. The losses and weights are those of the out-of-place
// loop (adapters replaced every step, as before), bit for bit. A non-finite gradient is
// still skipped (for that tensor) and reported.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLUSH_DISPATCHES } from '../../../src/backend/webgpu/backend.js';
import { loadModel } from '../../../src/models/load.js';
import type { LlamaModel } from '../../../src/models/llama.js';
import { LoraAdamW } from '../../../src/models/train/adamw.js';
import { disposeAdapters, disposeGrads, type LoraAdapters } from '../../../src/models/train/adapters.js';
import { initAdapters, loraSettings } from '../../../src/models/train/init.js';
import { loraStep } from '../../../src/models/train/step.js';
import { LoraTrainer } from '../../../src/models/train/trainer.js';
import type { Tensor } from '../../../src/tensor.js';
import { useWebGpu } from '../../webgpu_backends.js';

const FIXTURE = join(process.cwd(), 'test', 'fixtures', 'models', 'llama');
const STEPS = 5;
/** Steps before the counts are steady: the first records every launch tape, the second replays them on the pool's buffers (from the third on, the same ones each step). */
const WARMUP = 2;
const LR = 1e-2;
const batch = [[{ ids: Array.from({ length: 64 }, (_, i) => (i * 7) % 300) }], [{ ids: Array.from({ length: 40 }, (_, i) => (i * 11 + 3) % 300) }]];

const b = useWebGpu();
let model: LlamaModel;
beforeAll(async () => {
  model = await loadModel(FIXTURE, b());
});
afterAll(() => model?.dispose());

const adapters = () => initAdapters(model.config, loraSettings({ r: 4, alpha: 8 }), b(), 'f32', 3);
const bits = async (t: Tensor) => Array.from(new Uint32Array((await b().read(t)).buffer));
async function weights(a: LoraAdapters): Promise<number[][]> {
  const out: number[][] = [];
  for (const l of a.layers) for (const p of Object.values(l)) if (p) out.push(await bits(p.A), await bits(p.B));
  return out;
}

/** The loop before in-place AdamW: fused_adamw_step out of place, every adapter and moment replaced each step. */
async function outOfPlace(a: LoraAdapters): Promise<number[]> {
  const layers = a.layers as Record<string, { A: Tensor; B: Tensor }>[];
  const state = new Map<string, { m: Tensor; v: Tensor }>();
  const losses: number[] = [];
  for (let s = 1; s <= STEPS; s++) {
    // Micro-batches as the trainer weights them: each mean × its share of the targets.
    const counts = batch.map((mb) => mb[0].ids.length - 1);
    const total = counts[0] + counts[1];
    let grads;
    let loss = 0;
    for (let i = 0; i < batch.length; i++) {
      const r = await loraStep(model, a, batch[i], { seed: ((s - 1) * batch.length + i) >>> 0, lossScale: counts[i] / total }, grads);
      grads = r.grads;
      loss += (r.loss * counts[i]) / total;
    }
    losses.push(loss);
    const scalars = b().tensor(new Float32Array([LR, s]), [2], 'f32');
    layers.forEach((la, l) => {
      for (const [t, p] of Object.entries(la)) {
        const g = grads!.layers[l][t as 'q']!;
        const next: Record<string, Tensor> = {};
        for (const [k, gk] of [['A', g.dA], ['B', g.dB]] as const) {
          const key = `${l}.${t}.${k}`;
          const st = state.get(key) ?? { m: b().zeros(p[k].shape, 'f32'), v: b().zeros(p[k].shape, 'f32') };
          const r = b().fusedAdamwStep({ params: p[k], grads: gk, m: st.m, v: st.v, scalars }, { lr: 0, step: 1, weightDecay: 0 });
          st.m.dispose();
          st.v.dispose();
          p[k].dispose();
          state.set(key, { m: r.m, v: r.v });
          next[k] = r.params;
          r.flag.dispose();
          r.gradNorm.dispose();
        }
        la[t] = { A: next.A, B: next.B };
      }
    });
    scalars.dispose();
    disposeGrads(grads!);
  }
  for (const s of state.values()) (s.m.dispose(), s.v.dispose());
  return losses;
}

describe('LoRA training step on webgpu: steady state', () => {
  it(`after ${WARMUP} warm-up steps a step creates no bind group and no buffer, submits its batches and one wait; losses and weights equal the out-of-place loop's bit for bit`, async () => {
    const rt = b().rt;
    const trainer = new LoraTrainer(model, adapters(), { optimizer: { lr: LR } });
    const ref = adapters();
    try {
      const losses: number[] = [];
      for (let s = 0; s < STEPS; s++) {
        const before = { misses: rt.bindGroups.misses, created: rt.buffersCreated, submits: rt.submitCount, dispatches: rt.dispatchCount };
        const r = await trainer.step(batch);
        losses.push(r.loss);
        expect(r.skipped).toBe(false);
        if (s < WARMUP) continue;
        const d = rt.dispatchCount - before.dispatches;
        // 0, not "a few": every allocation and free of a step repeats the last step's, the
        // pool hands out the lowest-numbered free buffer (a function of the free set, which a
        // step leaves as it found it), Params slots are content-addressed, and the bind group
        // cache (8192 groups) holds every group of this model's step.
        expect({ step: s, misses: rt.bindGroups.misses - before.misses, created: rt.buffersCreated - before.created }).toEqual({ step: s, misses: 0, created: 0 });
        // Batches past FLUSH_DISPATCHES between ops, then the reads after the whole step is
        // recorded — each micro-batch's loss and AdamW's flag, begun together: the first
        // submits the rest of the step, the others share one (runtime.ts). Before: a wait per
        // micro-batch and a read per adapter tensor.
        expect(rt.submitCount - before.submits).toBeLessThanOrEqual(Math.floor(d / FLUSH_DISPATCHES) + 2);
      }
      expect(losses[STEPS - 1]).toBeLessThan(losses[0]);
      expect(await outOfPlace(ref)).toEqual(losses);
      expect(await weights(trainer.adapters)).toEqual(await weights(ref));
    } finally {
      trainer.dispose();
      disposeAdapters(ref);
    }
  });

  it('keeps each adapter Tensor for the run; a non-finite gradient skips that tensor (left bit for bit) and the step reports it', async () => {
    const a = adapters();
    const opt = new LoraAdamW(b(), a, { lr: LR });
    try {
      const held = a.layers.map((l) => ({ ...l }));
      const r = await loraStep(model, a, batch[0]);
      expect(await opt.step(r.grads)).toBe(true);
      a.layers.forEach((l, i) => expect(l).toEqual(held[i]));
      for (const [k, p] of Object.entries(held[0])) {
        expect(a.layers[0][k as 'q']!.A).toBe(p!.A);
        expect(a.layers[0][k as 'q']!.B).toBe(p!.B);
      }
      // A NaN in layer 0's q.B gradient: that tensor is skipped, every other one updated. (The
      // B tensors: every A gradient of this first batch is 0, since B starts at 0, as in PEFT.)
      const q = r.grads.layers[0].q!;
      const bad = new Float32Array(await b().read(q.dB));
      bad[1] = NaN;
      const shape = q.dB.shape;
      q.dB.dispose();
      q.dB = b().tensor(bad, shape, 'f32');
      const before = await weights(a);
      expect(await opt.step(r.grads)).toBe(false);
      const after = await weights(a);
      expect(after[1]).toEqual(before[1]); // layer 0 q.B, skipped
      for (let i = 3; i < after.length; i += 2) expect(after[i], `B tensor ${i >> 1}`).not.toEqual(before[i]);
      disposeGrads(r.grads);
    } finally {
      opt.dispose();
      disposeAdapters(a);
    }
  });
});
