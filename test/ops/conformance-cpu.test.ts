import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { runConformance } from '../../conformance/runner.js';

describe('conformance on the cpu backend (quick subset, every op in the registry)', () => {
  it('passes every case and every gradient check', async () => {
    const res = await runConformance({ backends: [new CpuBackend()], quick: true });
    const bad = [...res.records.filter((r) => !r.pass), ...res.grads.filter((g) => !g.pass)];
    expect(bad).toEqual([]);
    expect(res.records.length).toBeGreaterThan(0);
    expect(res.grads.length).toBeGreaterThan(0);
  });
});
