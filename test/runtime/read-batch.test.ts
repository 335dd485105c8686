// Reads begun in one synchronous stretch cost two submissions, not one each (runtime.ts
// #flushForReads): the first submits the recorded work at once, the others share one. A
// training step reads its losses and AdamW's flag together, clipping reads a square per
// adapter tensor.
import { describe, expect, it } from 'vitest';
import { useWebGpu } from '../webgpu_backends.js';

const gpu = useWebGpu();

describe('webgpu reads begun together', () => {
  it('cost two submissions, and each sees its own tensor', async () => {
    await gpu().sync();
    const xs = Array.from({ length: 6 }, (_, i) => gpu().tensor(new Float32Array([i, i + 0.5]), [1, 2]));
    const w = gpu().tensor(new Float32Array([1, 1]), [2]);
    const ys = xs.map((x) => gpu().rmsNorm({ x, weight: w }, { eps: 1e-6 }));
    const before = gpu().rt.submitCount;
    const got = await Promise.all(ys.map((y) => gpu().read(y.y)));
    expect(gpu().rt.submitCount - before).toBe(2);
    got.forEach((g, i) => {
      const r = Math.sqrt((i * i + (i + 0.5) ** 2) / 2);
      expect(Array.from(g).map((v) => v * r)).toEqual([expect.closeTo(i, 4), expect.closeTo(i + 0.5, 4)]);
    });
    for (const t of [...xs, w, ...ys.flatMap((y) => [y.y, y.rstd])]) t.dispose();
  });

  it('read what the tensor held when read() was called, not what later recorded ops write into its buffer', async () => {
    const x = gpu().tensor(new Float32Array([3, 4]), [2]);
    const p = gpu().read(x);
    // Before the shared submission goes out: x freed, its buffer handed to a new tensor and overwritten.
    x.dispose();
    const y = gpu().tensor(new Float32Array([7, 8]), [2]);
    expect(Array.from(await p)).toEqual([3, 4]);
    expect(Array.from(await gpu().read(y))).toEqual([7, 8]);
    y.dispose();
  });

  it('a read behind recorded dispatches submits them at once (the GPU starts while the host records on)', async () => {
    await gpu().sync();
    const x = gpu().tensor(new Float32Array([3, 4]), [1, 2]);
    const w = gpu().tensor(new Float32Array([1, 1]), [2]);
    const y = gpu().rmsNorm({ x, weight: w }, { eps: 1e-6 });
    const before = gpu().rt.submitCount;
    const p = gpu().read(y.y);
    expect(gpu().rt.submitCount - before).toBe(1); // synchronously, before anything else is recorded
    await p;
    for (const t of [x, w, y.y, y.rstd]) t.dispose();
  });
});
