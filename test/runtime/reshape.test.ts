import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { BackendMismatchError, DisposedError, ShapeError } from '../../src/errors.js';

const backends: KernelBackend[] = [];
beforeAll(async () => {
  for (const name of ['cpu', 'webgpu', 'metal'] as const) backends.push(await createBackend(name, { metal: { chip: 'M5' } }));
});
afterAll(() => backends.forEach((b) => b.dispose()));

describe('reshape: the storage moves to a tensor of another shape', () => {
  it.each(['cpu', 'webgpu', 'metal'])('%s: same elements, the source consumed, ops run on the result', async (name) => {
    const b = backends.find((x) => x.name === name)!;
    const t = b.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const r = b.reshape(t, [3, 1, 2]);
    expect(r.shape).toEqual([3, 1, 2]);
    expect(t.disposed).toBe(true);
    expect(() => t.storage()).toThrow(DisposedError);
    expect(Array.from(await b.read(r))).toEqual([1, 2, 3, 4, 5, 6]);
    // The result is an ordinary tensor: an op reads it under its new shape.
    const { y } = b.gemm({ a: b.reshape(r, [3, 2]), b: b.tensor(new Float32Array([1, 0, 0, 1]), [2, 2]) });
    expect(Array.from(await b.read(y))).toEqual([1, 2, 3, 4, 5, 6]);
    await expect(b.read(r)).rejects.toThrow(DisposedError);
  });

  it('a wrong element count, a bad shape, a foreign tensor', () => {
    const [cpu, gpu] = backends;
    const t = cpu.tensor(new Int32Array(6), [6]);
    expect(() => cpu.reshape(t, [4])).toThrow(ShapeError);
    expect(() => cpu.reshape(t, [-2, -3])).toThrow(ShapeError);
    expect(t.disposed).toBe(false);
    expect(() => gpu.reshape(t, [2, 3])).toThrow(BackendMismatchError);
  });
});
