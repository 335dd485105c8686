import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { OptionsError, ShapeError } from '../../src/errors.js';
import { useWebGpu } from '../webgpu_backends.js';

const gpu = useWebGpu();
const cpu = new CpuBackend();

describe('dw_gemm_accum', () => {
  it('sums over the micro-batches: [mb, T, M] gives the same C as the [mb·T, M] rows, and its inputs stay usable', async () => {
    const a = Float32Array.from({ length: 2 * 5 * 3 }, (_, k) => (k % 7) - 3);
    const b = Float32Array.from({ length: 2 * 5 * 4 }, (_, k) => (k % 5) - 2);
    const ta = gpu().tensor(a, [2, 5, 3]);
    const tb = gpu().tensor(b, [2, 5, 4]);
    const r3 = await gpu().read(gpu().dwGemmAccum({ a: ta, b: tb }).c);
    const r2 = await gpu().read(gpu().dwGemmAccum({ a: gpu().tensor(a, [10, 3]), b: gpu().tensor(b, [10, 4]) }).c);
    expect(Array.from(r3)).toEqual(Array.from(r2));
    // Small integers: every sum is exact, so the product is known exactly.
    const want = new Float32Array(12);
    for (let t = 0; t < 10; t++) for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) want[i * 4 + j] += a[t * 3 + i] * b[t * 4 + j];
    expect(Array.from(r3)).toEqual(Array.from(want));
    expect(Array.from(await gpu().read(ta))).toEqual(Array.from(a));
  });

  const f = (shape: number[]) => cpu.tensor(new Float32Array(shape.reduce((x, y) => x * y, 1)), shape);
  it.each([
    ['b of other tokens', () => cpu.dwGemmAccum({ a: f([5, 3]), b: f([6, 4]) }), ShapeError, /^\[dw_gemm_accum\] b: expected \[5, N\] \(the leading dims of a f32\[5,3\]: the same tokens\), got f32\[6,4\]$/],
    ['c of another shape', () => cpu.dwGemmAccum({ a: f([5, 3]), b: f([5, 4]), c: f([4, 3]) }, { beta: 1 }), ShapeError, /^\[dw_gemm_accum\] c: expected f32\[3,4\], got f32\[4,3\]$/],
    ['beta without c', () => cpu.dwGemmAccum({ a: f([5, 3]), b: f([5, 4]) }, { beta: 1 }), ShapeError, /^\[dw_gemm_accum\] c: required when beta ≠ 0/],
    ['c without beta', () => cpu.dwGemmAccum({ a: f([5, 3]), b: f([5, 4]), c: f([3, 4]) }), OptionsError, /^\[dw_gemm_accum\] beta: expected a nonzero beta when c is given/],
  ])('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });
});
