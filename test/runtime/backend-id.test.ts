import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { BackendMismatchError } from '../../src/errors.js';

describe('backend ids in mismatch messages', () => {
  const made: { dispose(): void }[] = [];
  afterAll(() => {
    for (const b of made) b.dispose();
  });

  it('two backends of one kind have distinct ids, and the message names both', async () => {
    const [a, b] = [await WebGpuBackend.create(), await WebGpuBackend.create()];
    const cpu = new CpuBackend();
    made.push(a, b, cpu);
    expect(a.id).toMatch(/^webgpu#\d+$/);
    expect(b.id).not.toBe(a.id);
    expect(cpu.id).toMatch(/^cpu#\d+$/);
    const x = a.tensor(new Float32Array(8).fill(1), [1, 8]);
    const w = b.tensor(new Float32Array(8).fill(1), [8]);
    let err: unknown;
    try {
      b.rmsNorm({ x, weight: w });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackendMismatchError);
    expect((err as Error).message).toBe(`[rms_norm] x: tensor belongs to backend ${a.id}, not ${b.id}; move it with read() + tensor()`);
    expect(() => cpu.rmsNorm({ x, weight: w })).toThrow(`tensor belongs to backend ${a.id}, not ${cpu.id}`);
  });
});
