import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { TensorInfo } from '../../src/ops/types.js';
import { OP_NAMES, type OpName } from '../../src/ops/registry.js';
import { Tensor } from '../../src/tensor.js';
import { fuzzCaseOf, runFuzz } from '../../conformance/fuzz.js';

// The fuzz harness (conformance/fuzz.ts, `pmetal fuzz`): a few hundred random cases per
// backend here; the long runs' counts are in the README.
const disposers: (() => void)[] = [];
afterAll(() => disposers.forEach((d) => d()));

/** A cpu backend whose swiglu is off by a little more than its bound in one element. */
class Broken extends CpuBackend {
  protected override execute(op: OpName, tier: string, inputs: Record<string, Tensor>, options: unknown, outputs: Record<string, TensorInfo>): Record<string, Tensor> {
    const out = super.execute(op, tier, inputs, options, outputs);
    if (op === 'swiglu') {
      const y = out.y.storage<Float32Array | Uint16Array>('test');
      if (y instanceof Float32Array && y.length > 3) y[3] = y[3] * 1.01 + 1e-3;
    }
    return out;
  }
}

describe('pmetal fuzz (differential, through the registry)', () => {
  it('draws the same case for (seed, index, op, dtype) whatever else runs', () => {
    const a = fuzzCaseOf('gemm', 'f16', 7, 41);
    const b = fuzzCaseOf('gemm', 'f16', 7, 41);
    expect(a.c.label).toBe(b.c.label);
    expect(a.inputSeed).toBe(b.inputSeed);
  });

  it('finds a kernel that is wrong, with a command line that reruns the case', async () => {
    const res = await runFuzz({ backends: [new Broken()], ops: ['swiglu'], dtypes: ['f32'], cases: 40, seed: 3 });
    expect(res.failures.length).toBeGreaterThan(0);
    const f = res.failures[0];
    expect(f.repro).toBe(`pmetal fuzz --backend cpu --tier reference --op swiglu --dtype f32 --seed 3 --case ${f.index}`);
    const again = await runFuzz({ backends: [new Broken()], ops: ['swiglu'], dtypes: ['f32'], cases: f.index + 1, only: f.index, seed: 3 });
    expect(again.cases).toBe(1);
    expect(again.failures.map((x) => x.label)).toEqual([f.label]);
  });

  it('cpu: 300 cases, nothing outside the bounds', async () => {
    const res = await runFuzz({ backends: [new CpuBackend()], cases: 300, seed: 11 });
    expect(res.failures).toEqual([]);
    // Every registry op is drawn (300 cases over a dozen ops).
    expect(Object.keys(res.perOp).length).toBe(OP_NAMES.length);
  });

  it('metal (host runtime): 300 cases, nothing outside the bounds', async () => {
    const metal = await MetalBackend.create(process.platform === 'darwin' ? {} : { chip: 'M5' });
    disposers.push(() => metal.dispose());
    const res = await runFuzz({ backends: [metal], cases: 300, seed: 12 });
    expect(res.failures).toEqual([]);
    expect(res.runs).toBeGreaterThan(300);
  });

  // ~0.4 s a case on lavapipe with 2 cores: the limit is a hang guard, not a timing check.
  it('webgpu (lavapipe): 200 cases, nothing outside the bounds', { timeout: 600_000 }, async () => {
    const gpu = await WebGpuBackend.create();
    disposers.push(() => gpu.dispose());
    const res = await runFuzz({ backends: [gpu], cases: 200, seed: 13 });
    expect(res.failures).toEqual([]);
    expect(res.runs).toBeGreaterThan(200);
  });
});
