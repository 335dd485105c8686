import { describe, expect, it } from 'vitest';
import type { LaunchContext } from '../../src/backend/webgpu/launch.js';
import { gemmLauncher } from '../../src/backend/webgpu/launchers/gemm.js';
import { fromFloat64, toFloat64, type FloatDType } from '../../src/dtype.js';
import { LimitError } from '../../src/errors.js';
import { getSpec } from '../../src/ops/registry.js';
import type { RefTensor } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';
import { useWebGpu } from '../webgpu_backends.js';

const gpu = useWebGpu();

/** Deterministic values in [-1, 1), rounded to the dtype. */
function values(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s ^ (s >>> 15), 2246822519) + 0x9e3779b9) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  batchA?: number;
  batchB?: number;
  c?: boolean;
  bias?: boolean;
  dtype?: FloatDType;
  outDtype?: FloatDType;
}

/**
 * Runs the webgpu gemm launcher with maxStorageBufferBindingSize lowered to `limit` (the
 * device checks its real limits; the launcher plans its blocks for the lowered one), and
 * compares y with the float64 reference within the bound the gemm spec derives.
 */
async function splitGemm(c: Case, limit: number) {
  const spec = getSpec('gemm');
  const dtype = c.dtype ?? 'f32';
  const od = c.outDtype ?? dtype;
  const opts = spec.options.parse({ transA: !!c.transA, transB: !!c.transB, alpha: c.c ? 0.75 : 1, beta: c.c ? -0.5 : 0, ...(c.outDtype ? { outDtype: c.outDtype } : {}) }) as Record<string, unknown>;
  const aShape = [...(c.batchA ? [c.batchA] : []), ...(c.transA ? [c.k, c.m] : [c.m, c.k])];
  const bShape = [...(c.batchB ? [c.batchB] : []), ...(c.transB ? [c.n, c.k] : [c.k, c.n])];
  const batch = Math.max(c.batchA ?? 1, c.batchB ?? 1);
  const yShape = c.batchA || c.batchB ? [batch, c.m, c.n] : [c.m, c.n];
  const host: Record<string, RefTensor> = {};
  const mk = (name: string, shape: number[], d: FloatDType, seed: number) => {
    const n = shape.reduce((x, y) => x * y, 1);
    host[name] = { dtype: d, shape, data: toFloat64(d, fromFloat64(d, values(n, seed))) };
  };
  mk('a', aShape, dtype, 1);
  mk('b', bShape, dtype, 2);
  if (c.c) mk('c', yShape, od, 3);
  if (c.bias) mk('bias', [c.n], od, 4);
  const ref = spec.reference(host, opts) as Record<string, RefTensor>;
  const bounds = spec.bounds(host, opts, ref) as Record<string, Float64Array>;

  const real = gpu().rt.opened.limits;
  const limits = new Proxy(real, { get: (t, k) => (k === 'maxStorageBufferBindingSize' ? limit : (t as unknown as Record<string | symbol, unknown>)[k]) });
  const made: Tensor[] = [];
  const ctx: LaunchContext = {
    rt: gpu().rt,
    features: gpu().rt.opened.features,
    limits,
    adapter: { ...gpu().adapter, limits },
    buffer: (t) => t.storage<{ buffer: GPUBuffer }>('webgpu').buffer,
    output: (info) => {
      const t = gpu().zeros(info.shape, info.dtype);
      made.push(t);
      return t;
    },
  };
  const inputs: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(host)) made.push((inputs[k] = gpu().tensor(fromFloat64(v.dtype, v.data), v.shape, v.dtype)));
  gpu().rt.op = 'gemm';
  let y: Tensor;
  try {
    y = gemmLauncher.launch(ctx, 'portable', inputs, opts, { y: { dtype: od, shape: yShape } }).y;
  } finally {
    gpu().rt.op = undefined;
  }
  const got = toFloat64(od, await gpu().read(y));
  let bad = 0;
  for (let i = 0; i < got.length; i++) if (!(Math.abs(got[i] - ref.y.data[i]) <= bounds.y[i])) bad++;
  for (const t of made) t.dispose();
  return { bad, total: got.length };
}

describe('gemm over maxStorageBufferBindingSize: blocks of M and N (limit lowered to 16 KiB)', () => {
  const L = 16 * 1024;
  // Few distinct kernel variants: each costs lavapipe seconds to compile.
  const cases: [string, Case][] = [
    // b = 50×300 f32 (60 KB): N split, b's column blocks and y's copied (c's copied in).
    ['b column blocks copied, y copied back; batched a, c, bias', { m: 37, n: 300, k: 50, batchA: 2, c: true, bias: true }],
    ['b transposed: row blocks in place; a over the limit: M split in place', { m: 200, n: 300, k: 30, transB: true }],
    ['both transposed: a column blocks copied', { m: 90, n: 150, k: 33, transA: true, transB: true }],
    ['small-M (gemv) blocks, batched b', { m: 5, n: 300, k: 40, batchB: 2, transB: true }],
    ['f16, a transposed', { m: 300, n: 64, k: 40, dtype: 'f16', transA: true }],
    ['bf16: y copied back, c', { m: 30, n: 420, k: 36, dtype: 'bf16', c: true }],
  ];
  it.each(cases)('%s: within the derived bound', async (_, c) => {
    const r = await splitGemm(c, L);
    expect(r).toEqual({ bad: 0, total: r.total });
  });

  it('a single row of op(A) over the limit: LimitError at the call naming the limit (K is not split)', async () => {
    await expect(splitGemm({ m: 2, n: 3, k: 5000 }, L)).rejects.toThrow(LimitError);
    await expect(splitGemm({ m: 2, n: 3, k: 5000 }, L)).rejects.toThrow(/^\[gemm\] f32\[2,5000\] × f32\[5000,3\]: one row of op\(A\) \/ column of op\(B\) is 20000 bytes, over maxStorageBufferBindingSize \(16384\)/);
  });

  it('16-bit column blocks of an odd N: LimitError (copies move 4-byte words)', async () => {
    await expect(splitGemm({ m: 8, n: 301, k: 40, dtype: 'f16' }, L)).rejects.toThrow(/need an even N \(got 301\)/);
  });
});

describe('gemm over the real 128 MiB binding limit (lavapipe)', () => {
  // [8,4096] × [4096,14336] f32: b is 224 MiB, over maxStorageBufferBindingSize on lavapipe
  // and WebGPU's default. Checked: every output finite, and a sample of columns (spread over
  // both N blocks and their seam) against float64 within the spec's bound.
  it('[8,4096] × [4096,14336] f32 on every gemm tier', async () => {
    const [M, K, N] = [8, 4096, 14336];
    expect(K * N * 4).toBeGreaterThan(gpu().rt.opened.limits.maxStorageBufferBindingSize);
    const a32 = Float32Array.from(values(M * K, 11));
    const b32 = new Float32Array(K * N);
    // b[k, j] = small pseudo-random values; a cheap LCG (values() over 58M elements is slow).
    let s = 12345;
    for (let i = 0; i < b32.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      b32[i] = (s >>> 8) / 2 ** 23 - 1;
    }
    const a = gpu().tensor(a32, [M, K]);
    const b = gpu().tensor(b32, [K, N]);
    const cols = [0, 1, 63, 4095, 8191, 8192, 8193, 12000, N - 1];
    const spec = getSpec('gemm');
    const opts = spec.options.parse({}) as Record<string, unknown>;
    for (const t of gpu().capabilities().ops.gemm.filter((x) => x.dtypes.includes('f32'))) {
      const { y } = gpu().run('gemm', { a, b }, {}, { tier: t.tier });
      const got = (await gpu().read(y)) as Float32Array;
      y.dispose();
      expect(got.every(Number.isFinite), `${t.tier}: all finite`).toBe(true);
      for (const j of cols) {
        // Column j of b and the reference for y[:, j], with its bound.
        const bj: RefTensor = { dtype: 'f32', shape: [K, 1], data: Float64Array.from({ length: K }, (_, kk) => b32[kk * N + j]) };
        const aRef: RefTensor = { dtype: 'f32', shape: [M, K], data: Float64Array.from(a32) };
        const ref = spec.reference({ a: aRef, b: bj }, opts) as Record<string, RefTensor>;
        const bound = (spec.bounds({ a: aRef, b: bj }, opts, ref) as Record<string, Float64Array>).y;
        for (let i = 0; i < M; i++) expect(Math.abs(got[i * N + j] - ref.y.data[i]), `${t.tier} y[${i},${j}]`).toBeLessThanOrEqual(bound[i]);
      }
    }
    a.dispose();
    b.dispose();
  });
});
