import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { OP_NAMES } from '../../src/ops/registry.js';
import { runConformance } from '../../conformance/runner.js';
import { useWebGpu } from '../webgpu_backends.js';

// The quick conformance subset on the webgpu backend, every tier the adapter offers, one
// test per op so a failure names it. Compared against the float64 reference and the cpu
// backend; failures print their case ids (run one alone with `pmetal conformance --case`).
const gpu = useWebGpu();
const cpu = new CpuBackend();

describe('webgpu conformance (quick)', () => {
  // A hang guard, not a timing check: one op's quick cases on every lavapipe tier took up to
  // 134 s on a throttled 2-core CI machine (run S12), past vitest's 120 s default here.
  it.each(OP_NAMES)('%s', { timeout: 600_000 }, async (op) => {
    if (!gpu().supports(op)) return expect(gpu().capabilities().ops[op]).toBeUndefined();
    const res = await runConformance({ backends: [cpu, gpu()], ops: [op], quick: true });
    const bad = res.records.filter((r) => !r.pass).map((r) => `${r.case} ${r.backend}/${r.tier}: ${r.error ?? r.detail ?? ''}`);
    expect(bad).toEqual([]);
    const tiers = new Set(res.records.filter((r) => r.backend === 'webgpu').map((r) => r.tier));
    expect([...tiers].sort()).toEqual(gpu().capabilities().ops[op].map((t) => t.tier).sort());
  });
});
