import { describe, expect, expectTypeOf, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { OP_NAMES } from '../../src/ops/registry.js';
import { camel } from '../../src/ops/signature.js';
import type { Tensor } from '../../src/tensor.js';

// The typed methods are derived from the specs (src/ops/signature.ts). These assertions are
// checked by the type check (`tsc`, part of the test command): a spec whose inputs, outputs
// or options stop matching its method breaks the build, not a user.
describe('typed op methods derived from the op specs', () => {
  it('have the spec inputs (optional ones optional), options and outputs', () => {
    type B = KernelBackend;
    expectTypeOf<Parameters<B['rmsNorm']>[0]>().toEqualTypeOf<{ x: Tensor; weight: Tensor; residual?: Tensor }>();
    expectTypeOf<ReturnType<B['rmsNorm']>>().toEqualTypeOf<{ y: Tensor; rstd: Tensor; residual?: Tensor }>();
    expectTypeOf<Parameters<B['gemm']>[0]>().toEqualTypeOf<{ a: Tensor; b: Tensor; c?: Tensor; bias?: Tensor }>();
    expectTypeOf<NonNullable<Parameters<B['gemm']>[1]>['outDtype']>().toEqualTypeOf<'f32' | 'f16' | 'bf16' | undefined>();
    expectTypeOf<ReturnType<B['crossEntropyBackward']>>().toEqualTypeOf<{ dlogits: Tensor }>();
    expectTypeOf<ReturnType<B['run']>>().toEqualTypeOf<Record<string, Tensor>>();
  });

  it('exist on every backend for every registry op and run it', async () => {
    const cpu = new CpuBackend();
    for (const op of OP_NAMES) expect(typeof (cpu as unknown as Record<string, unknown>)[camel(op)], op).toBe('function');
    const x = cpu.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
    const w = cpu.tensor(new Float32Array([1, 1]), [2]);
    // @ts-expect-error weight is required by the rms_norm spec
    expect(() => cpu.rmsNorm({ x })).toThrow(/\[rms_norm\] weight: required input is missing/);
    // @ts-expect-error eps is a number
    expect(() => cpu.rmsNorm({ x, weight: w }, { eps: 'small' })).toThrow(/\[rms_norm\] eps/);
    const { y, rstd } = cpu.rmsNorm({ x, weight: w }, { eps: 1e-6 });
    expect(y.shape).toEqual([2, 2]);
    expect(rstd.dtype).toBe('f32');
    expect(Array.from(await cpu.read(y))).toEqual(Array.from(await cpu.read(cpu.run('rms_norm', { x, weight: w }, { eps: 1e-6 }).y)));
  });

  it('backends dispose through Symbol.dispose and Symbol.asyncDispose', async () => {
    const a = new CpuBackend();
    let n = 0;
    a.dispose = () => void n++;
    a[Symbol.dispose]();
    await a[Symbol.asyncDispose]();
    expect(n).toBe(2);
  });
});
