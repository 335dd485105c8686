import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { OptionsError, ShapeError, TierUnavailableError } from '../../src/errors.js';
import type { Tensor } from '../../src/tensor.js';

// run() plans a signature once (options parsed, shapes checked, tier chosen) and reuses the
// plan: what the key does not name must still be checked on every call.
describe('per-signature plans in run()', () => {
  const cpu = new CpuBackend();
  const x = cpu.tensor(new Float32Array(8).fill(1), [2, 4]);
  const w = cpu.tensor(new Float32Array(4).fill(1), [4]);

  it('reuse a plan only for the same options and shapes', async () => {
    const a = cpu.run('rms_norm', { x, weight: w }, { eps: 0.5 }).y;
    const b = cpu.run('rms_norm', { x, weight: w }, { eps: 0.5 }).y;
    const c = cpu.run('rms_norm', { x, weight: w }, { eps: 0.25 }).y;
    expect(Array.from(await cpu.read(a))).toEqual(Array.from(await cpu.read(b)));
    expect((await cpu.read(c))[0]).toBeCloseTo(1 / Math.sqrt(1.25), 6);
    // A bad option under a planned shape is still an error, as is a bad shape under planned options.
    expect(() => cpu.run('rms_norm', { x, weight: w }, { eps: -1 })).toThrow(OptionsError);
    const w5 = cpu.tensor(new Float32Array(5).fill(1), [5]);
    expect(() => cpu.run('rms_norm', { x, weight: w5 }, { eps: 0.5 })).toThrow(ShapeError);
  });

  it('still check inputs the key does not name: unknown names, foreign and disposed tensors', () => {
    cpu.run('rms_norm', { x, weight: w }, { eps: 0.5 });
    expect(() => cpu.run('rms_norm', { x, weight: w, bogus: x } as unknown as { x: Tensor; weight: Tensor }, { eps: 0.5 })).toThrow(/\[rms_norm\] bogus: unknown input/);
    const other = new CpuBackend();
    const ox = other.tensor(new Float32Array(8).fill(1), [2, 4]);
    expect(() => cpu.run('rms_norm', { x: ox, weight: w }, { eps: 0.5 })).toThrow(/belongs to/);
    const dx = cpu.tensor(new Float32Array(8).fill(1), [2, 4]);
    dx.dispose();
    expect(() => cpu.run('rms_norm', { x: dx, weight: w }, { eps: 0.5 })).toThrow(/disposed/);
  });

  it('follow setTier (plans name their tier)', () => {
    cpu.run('rms_norm', { x, weight: w }, { eps: 0.5 });
    cpu.setTier('rms_norm', 'no-such-tier');
    expect(() => cpu.run('rms_norm', { x, weight: w }, { eps: 0.5 })).toThrow(TierUnavailableError);
    cpu.setTier('rms_norm', undefined);
    expect(cpu.run('rms_norm', { x, weight: w }, { eps: 0.5 }).y.shape).toEqual([2, 4]);
  });
});
