// The semantics the README's "Ops" notes define at special values, on every backend against
// the reference: an all −Inf softmax row is NaN (torch.softmax), a result past the output
// dtype's range rounds to ±Inf (IEEE round-to-nearest-even, as PyTorch's `.half()`), a
// subnormal result may be flushed to 0 (WGSL allows it, so the bounds do); and the
// reference itself at the edges: cross_entropy_backward's softcap slope is the exact sech².
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { fromFloat64, type FloatDType } from '../../src/dtype.js';
import { crossEntropyBackwardRef } from '../../src/ops/cross_entropy_backward/reference.js';
import { swiglu } from '../../src/ops/swiglu/spec.js';
import { toDtype } from '../../src/ops/tolerance.js';
import type { HostTensor } from '../../src/ops/types.js';
import { compare } from '../../conformance/compare.js';
import { checkAgainstReference } from './against_reference.js';

const HOST = process.platform !== 'darwin';
const backends: Record<string, KernelBackend> = {};
beforeAll(async () => {
  backends.cpu = new CpuBackend();
  backends.webgpu = await WebGpuBackend.create();
  backends.metal = await MetalBackend.create(HOST ? { chip: 'M5' } : {});
});
afterAll(() => {
  for (const b of Object.values(backends)) b.dispose();
});
const NAMES = ['cpu', 'webgpu', 'metal'];
const host = (dtype: FloatDType | 'i32' | 'f32', shape: number[], values: number[]): HostTensor => ({
  dtype,
  shape,
  data: dtype === 'i32' ? Int32Array.from(values) : fromFloat64(dtype, values),
});

describe.each(NAMES)('softmax rows of −Inf on %s', (name) => {
  it.each(['f32', 'f16', 'bf16'] as const)('%s: visible entries NaN, masked entries 0, a row with no visible key 0', async (dt) => {
    const b = backends[name];
    const n = 40;
    const vals: number[] = [];
    // Row 0 all −Inf, row 1 finite, row 2 −Inf but one entry, row 3 all −Inf.
    for (let r = 0; r < 4; r++) for (let j = 0; j < n; j++) vals.push(r === 0 || r === 3 || (r === 2 && j !== 5) ? -Infinity : (j % 7) - 3);
    for (const shapeN of [n, 33]) {
      const rows = vals.length / n;
      const x = host(dt, [rows, shapeN], Array.from({ length: rows * shapeN }, (_, k) => vals[Math.floor(k / shapeN) * n + (k % shapeN)]));
      const r = await checkAgainstReference(b, 'softmax', { x }, {});
      expect(r.bad).toEqual([]);
      const y = r.got.y;
      for (let j = 0; j < shapeN; j++) {
        expect(y[j]).toBeNaN();
        expect(y[3 * shapeN + j]).toBeNaN();
        if (j !== 5) expect(y[2 * shapeN + j]).toBe(0);
      }
    }
    // Causal [1, 3, 8], queryOffset −1: query 0 sees nothing (all 0), query 1 sees key 0
    // (−Inf → NaN, the rest 0), query 2 sees keys 0–1 (finite).
    const c = host(dt, [1, 3, 8], Array.from({ length: 24 }, (_, k) => (k < 16 ? -Infinity : k % 3)));
    const rc = await checkAgainstReference(b, 'softmax', { x: c }, { causal: true, queryOffset: -1 });
    expect(rc.bad).toEqual([]);
    const y = [...rc.got.y];
    expect(y.slice(0, 8)).toEqual(new Array(8).fill(0));
    expect(y[8]).toBeNaN();
    expect(y.slice(9, 16)).toEqual(new Array(7).fill(0));
    expect(y.slice(18)).toEqual(new Array(6).fill(0));
  });
});

describe.each(NAMES)('results past the output dtype round to ±Inf on %s', (name) => {
  it('swiglu f16: 300·300 = 90000 > 65504 → ±Inf; 250·250 = 62500 stays finite', async () => {
    const b = backends[name];
    const r = await checkAgainstReference(b, 'swiglu', { gate: host('f16', [4], [300, 300, 250, 280]), up: host('f16', [4], [300, -300, 250, -250]) }, {});
    expect(r.bad).toEqual([]);
    expect([...r.got.y]).toEqual([Infinity, -Infinity, 62496, -Infinity]);
  });

  it('swiglu bf16: (1.4140625·2^64)·(1.4140625·2^63) is finite in f32 but past bf16 max → Inf', async () => {
    const b = backends[name];
    const g = 1.4140625 * 2 ** 64;
    const u = 1.4140625 * 2 ** 63;
    const r = await checkAgainstReference(b, 'swiglu', { gate: host('bf16', [2], [g, g]), up: host('bf16', [2], [u, -u]) }, {});
    expect(r.bad).toEqual([]);
    expect([...r.got.y]).toEqual([Infinity, -Infinity]);
  });

  it('swiglu_backward, rms_norm and gemm f16 outputs overflow the same way', async () => {
    const b = backends[name];
    const sb = await checkAgainstReference(b, 'swiglu_backward', { dy: host('f16', [2], [300, 1]), gate: host('f16', [2], [10, 1]), up: host('f16', [2], [300, 1]) }, {});
    expect(sb.bad).toEqual([]);
    expect(sb.got.dgate[0]).toBe(Infinity);
    expect(Number.isFinite(sb.got.dgate[1])).toBe(true);
    const rn = await checkAgainstReference(b, 'rms_norm', { x: host('f16', [1, 4], [2, 0, 0, 0]), weight: host('f16', [4], [60000, 1, 1, 1]) }, {});
    expect(rn.bad).toEqual([]);
    expect(rn.got.y[0]).toBe(Infinity);
    const gm = await checkAgainstReference(b, 'gemm', { a: host('f16', [2, 1], [300, 3]), b: host('f16', [1, 2], [-300, 3]) }, {});
    expect(gm.bad).toEqual([]);
    expect([...gm.got.y]).toEqual([-Infinity, 900, -900, 9]);
  });
});

describe('the comparison and the bounds', () => {
  it('±Inf passes only where the exact value reaches the overflow threshold, with its sign', () => {
    const b = Float64Array.of(0, 0, 0, 0);
    expect(compare(Float64Array.of(Infinity), Float64Array.of(90000), b, 'f16').pass).toBe(true);
    expect(compare(Float64Array.of(Infinity), Float64Array.of(65520), b, 'f16').pass).toBe(true);
    expect(compare(Float64Array.of(Infinity), Float64Array.of(65519), b, 'f16').pass).toBe(false);
    expect(compare(Float64Array.of(-Infinity), Float64Array.of(90000), b, 'f16').pass).toBe(false);
    expect(compare(Float64Array.of(Infinity), Float64Array.of(90000), b, 'f32').pass).toBe(false);
    expect(compare(Float64Array.of(Infinity), Float64Array.of(90000), b).pass).toBe(false);
  });

  it('a subnormal result may be flushed to 0: the bound covers |ref| below the smallest normal', () => {
    for (const [dt, ref] of [
      ['f32', 2 ** -130],
      ['bf16', -(2 ** -127)],
      ['f16', 2 ** -16],
    ] as const) {
      expect(toDtype(dt, ref, 0)).toBeGreaterThanOrEqual(Math.abs(ref));
    }
    // Normal results keep their relative bound.
    expect(toDtype('f32', 1, 0)).toBeLessThan(2 ** -23);
    expect(toDtype('f16', 2 ** -13, 0)).toBeLessThan(2 ** -20);
  });

  it('swiglu f32 outputs in the subnormal range: a flushed 0 is within the bound', () => {
    // silu(−80)·up = −80·e^−80·up ≈ −1.4e−33·up: subnormal f32 for up ≈ 1e−6.
    const gate = { dtype: 'f32' as const, shape: [3], data: Float64Array.of(-80, -85, -82) };
    const up = { dtype: 'f32' as const, shape: [3], data: Float64Array.from(Float32Array.of(1e-6, 2e-5, -3e-6)) };
    const ref = swiglu.reference({ gate, up }, {});
    const bounds = swiglu.bounds({ gate, up }, {}, ref);
    for (const v of ref.y!.data) expect(Math.abs(v)).toBeLessThan(2 ** -126);
    expect(compare(new Float64Array(3), ref.y!.data, bounds.y!, 'f32').pass).toBe(true);
  });

  it.each(NAMES)('on %s the same subnormal swiglu outputs pass, flushed or not', async (name) => {
    const r = await checkAgainstReference(backends[name], 'swiglu', { gate: host('f32', [3], [-80, -85, -82]), up: host('f32', [3], [1e-6, 2e-5, -3e-6]) }, {});
    expect(r.bad).toEqual([]);
  });
});

describe('cross_entropy_backward: the softcap slope is the exact sech²', () => {
  it.each([0.5, 13, 20, 30, 60])('|x/cap| = %d', (u) => {
    const cap = 2;
    const v = 3;
    // Row: x0 = u·cap (the element under test), x1, x2 small; target 1; lse of the capped row.
    const x = [u * cap, 0.25, -0.5];
    const z = x.map((t) => cap * Math.tanh(t / cap));
    const lse = Math.log(z.reduce((s, t) => s + Math.exp(t), 0));
    const o = { ignoreIndex: -100, labelSmoothing: 0, softcap: cap, reduction: 'sum' as const };
    const r = crossEntropyBackwardRef(
      { dtype: 'f32', shape: [1, v], data: Float64Array.from(x) },
      { dtype: 'i32', shape: [1], data: Float64Array.of(1) },
      { dtype: 'f32', shape: [1], data: Float64Array.of(lse) },
      { dtype: 'f32', shape: [1], data: Float64Array.of(1) },
      o,
    );
    const sech2 = 1 / Math.cosh(u) ** 2;
    const want = Math.exp(z[0] - lse) * sech2;
    expect(r.dx[0]).toBeGreaterThan(0);
    expect(Math.abs(r.dx[0] - want) / want).toBeLessThan(1e-14);
  });

  it.each(NAMES)('on %s, logits far into the cap agree with it', async (name) => {
    const xs = [40, -45, 60, 0.5, -2, 1, 58, -60];
    const r = await checkAgainstReference(
      backends[name],
      'cross_entropy_backward',
      { logits: host('f32', [1, 8], xs), targets: host('i32', [1], [3]), lse: host('f32', [1], [Math.log(xs.reduce((s, t) => s + Math.exp(2 * Math.tanh(t / 2)), 0))]), dloss: host('f32', [1], [1]) },
      { softcap: 2, reduction: 'sum' },
    );
    expect(r.bad).toEqual([]);
    expect(r.got.dlogits.every(Number.isFinite)).toBe(true);
  });
});
