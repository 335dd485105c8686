// The training step rotates q and k with one rope call and dq, dk with one rope_backward call:
// a LoRA step on webgpu records two dispatches per layer fewer than the same step with q and k
// rotated by separate calls (the way the layer did before), with the same loss and adapter
// gradients bit for bit (each kernel does the same per-element arithmetic either way).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src/models/load.js';
import { disposeAdapters, disposeGrads } from '../../../src/models/train/adapters.js';
import { readPeftAdapter } from '../../../src/models/train/peft.js';
import { loraStep } from '../../../src/models/train/step.js';
import { splitRope } from '../split_rope.js';
import { useWebGpu } from '../../webgpu_backends.js';

const DIR = join(process.env.PMETAL_MODEL_FIXTURES ?? join(process.cwd(), 'test', 'fixtures', 'models'), 'llama');
const HAVE = existsSync(join(DIR, 'lora', 'adapter_model.safetensors')) || existsSync(join(DIR, 'lora', 'grads.safetensors'));

const gpu = useWebGpu();

describe.skipIf(!HAVE)('LoRA step with q and k rotated together', () => {
  it('webgpu: two dispatches per layer fewer than with separate rope calls, the same loss and gradients bit for bit', async () => {
    const g = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8')) as { inputs: number[][]; lora: { labels: number[][] } };
    const examples = g.inputs.map((ids, i) => ({ ids, labels: g.lora.labels[i] }));
    const runs: { dispatches: number; loss: number; grads: number[][] }[] = [];
    let layers = 0;
    for (const b of [gpu(), splitRope(gpu())]) {
      const model = await loadModel(DIR, b);
      layers = model.config.numLayers;
      const adapters = await readPeftAdapter(join(DIR, 'lora'), model.config, b, 'f32');
      // Warm (plans recorded), then the counted step.
      disposeGrads((await loraStep(model, adapters, examples)).grads);
      const before = gpu().rt.dispatchCount;
      const r = await loraStep(model, adapters, examples);
      const dispatches = gpu().rt.dispatchCount - before;
      const grads: number[][] = [];
      for (const layer of r.grads.layers) for (const t of Object.values(layer)) for (const m of [t!.dA, t!.dB]) grads.push([...((await gpu().read(m)) as Float32Array)]);
      runs.push({ dispatches, loss: r.loss, grads });
      disposeGrads(r.grads);
      disposeAdapters(adapters);
      model.dispose();
    }
    expect(runs[1].dispatches - runs[0].dispatches).toBe(2 * layers);
    expect(runs[0].loss).toBe(runs[1].loss);
    expect(runs[0].grads).toEqual(runs[1].grads);
  });
});
