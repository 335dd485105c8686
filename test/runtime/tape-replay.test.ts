// Every webgpu op's replayed launch (launch_tape.ts) must compute exactly what its launcher
// computes: the quick conformance case of each op, run three times on the same inputs — the
// first call records (or, where the launcher uploads a table, spoils and the second records),
// the later ones replay — gives bit-identical outputs each time. The ops cover every step a
// tape holds: outputs, scratch buffers and their release, internal tensors disposed
// mid-launch, clears and copies, multi-dispatch launches and in-place outputs.
import { describe, expect, it } from 'vitest';
import { OP_NAMES, getSpec } from '../../src/ops/registry.js';
import type { FloatDType } from '../../src/dtype.js';
import type { Tensor } from '../../src/tensor.js';
import { useWebGpu } from '../webgpu_backends.js';

const gpu = useWebGpu();

const bits = (a: ArrayLike<number>) => Array.from(new Uint8Array((a as unknown as { buffer: ArrayBuffer; byteOffset: number; byteLength: number }).buffer, (a as unknown as { byteOffset: number }).byteOffset, (a as unknown as { byteLength: number }).byteLength));

describe('a replayed launch equals the launcher’s (webgpu, quick case of every op)', () => {
  const ops = OP_NAMES.filter((op) => getSpec(op).cases.some((c) => c.quick));
  it.each(ops)('%s', async (op) => {
    const spec = getSpec(op);
    const c = spec.cases.find((k) => k.quick)!;
    const dtype = spec.dtypes.find((d) => d === 'f32' || d === 'f16' || d === 'bf16') as FloatDType;
    if (!gpu().supports(op, dtype)) return;
    const host = c.make(dtype, 1);
    const inputs: Record<string, Tensor> = {};
    for (const [k, h] of Object.entries(host)) inputs[k] = gpu().tensor(h.data, h.shape, h.dtype);
    const replayed = gpu().tapeStats.replayed;
    const runs: Record<string, number[]>[] = [];
    for (let i = 0; i < 3; i++) {
      const out = gpu().run(op, inputs, c.options);
      const got: Record<string, number[]> = {};
      for (const [k, t] of Object.entries(out)) {
        got[k] = bits(await gpu().read(t));
        if (!Object.values(inputs).includes(t)) t.dispose();
      }
      runs.push(got);
    }
    for (const t of Object.values(inputs)) t.dispose();
    expect(runs[1], 'second call').toEqual(runs[0]);
    expect(runs[2], 'third call').toEqual(runs[0]);
    // At least the third call replayed (ops whose launch a tape cannot hold say why here).
    expect(gpu().tapeStats.replayed, gpu().tapeStats.lastSpoil).toBeGreaterThan(replayed);
  });
});
