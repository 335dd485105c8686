// A decode step is host-bound on a big GPU (Dawn's submit costs ~20 µs per dispatch on the
// H100), so every dispatch a layer saves counts. q and k go through one rope call: a decode
// step must record exactly one dispatch per layer fewer than the same model whose rope
// rotates q and k by two calls (the way decoderLayer did before), with the same logits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend } from '../../src/backend/interface.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { loadModel } from '../../src/models/load.js';
import { writeTinyCheckpoint } from './tiny_checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'pmetal-decode-dispatches-'));
let gpu: WebGpuBackend;
beforeAll(async () => {
  gpu = await WebGpuBackend.create();
});
afterAll(() => {
  gpu?.dispose();
  rmSync(root, { recursive: true, force: true });
});

/** The backend with rope({x, k}) split into rope({x}) and rope({x: k}): the two-call layer. */
function splitRope(b: WebGpuBackend): KernelBackend {
  return new Proxy(b, {
    get(target, prop) {
      if (prop === 'rope') {
        return (i: Parameters<KernelBackend['rope']>[0], o: Parameters<KernelBackend['rope']>[1]) => {
          if (!i.k) return target.rope(i, o);
          const { k, ...q } = i;
          return { y: target.rope(q, o).y, yk: target.rope({ ...q, x: k }, o).y };
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as unknown as KernelBackend;
}

describe('decode step dispatches', () => {
  it('one rope dispatch per layer for q and k: a step records numLayers fewer dispatches than with two rope calls, same logits', async () => {
    const layers = 3;
    const dir = join(root, 'llama');
    writeTinyCheckpoint(dir, { model_type: 'llama', layers });
    const counts: number[] = [];
    const logits: Float32Array[][] = [];
    for (const b of [gpu, splitRope(gpu)]) {
      const model = await loadModel(dir, b);
      const cache = model.createCache(1, 32);
      let out = await model.prefill([[3, 1, 4, 1, 5]], cache);
      // Warm: the first step plans and records; count a later one.
      out = await model.step([[out[0].indexOf(Math.max(...out[0]))]], cache);
      const before = gpu.rt.dispatchCount;
      out = await model.step([[out[0].indexOf(Math.max(...out[0]))]], cache);
      counts.push(gpu.rt.dispatchCount - before);
      logits.push(out);
      cache.dispose();
      model.dispose();
    }
    expect(counts[1] - counts[0]).toBe(layers);
    expect([...logits[0][0]]).toEqual([...logits[1][0]]);
  });
});
