import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { fusedAdamwStepLauncher } from '../../src/backend/webgpu/launchers/fused_adamw_step.js';
import { toFloat64 } from '../../src/dtype.js';
import { DTypeError, ShapeError } from '../../src/errors.js';
import { adamwInputs, type AdamwDef } from '../../src/ops/fused_adamw_step/cases.js';
import { adamwRef } from '../../src/ops/fused_adamw_step/reference.js';
import { fusedAdamwStep, fusedAdamwStepOptions } from '../../src/ops/fused_adamw_step/spec.js';
import { compare } from '../../conformance/compare.js';
import type { HostTensor, RefTensor } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';
import { limitedContext } from './limits.js';
import { useWebGpu } from '../webgpu_backends.js';

const gpu = useWebGpu();
const cpu = new CpuBackend();

const ref = (h: HostTensor): RefTensor => ({ dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) });
const upload = (host: Record<string, HostTensor>) => Object.fromEntries(Object.entries(host).map(([k, h]) => [k, gpu().tensor(h.data, h.shape, h.dtype)])) as Record<string, Tensor>;
async function readAll(out: Record<string, Tensor>) {
  const r: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(out)) r[k] = Array.from(await gpu().read(t));
  return r;
}

describe('fused_adamw_step reference follows torch.optim.AdamW', () => {
  it('first step: p·(1 − lr·wd) − lr·g / (|g| + eps), m = (1−β1)·g, v = (1−β2)·g²', () => {
    const t = (x: number[]): RefTensor => ({ dtype: 'f32', shape: [x.length], data: Float64Array.from(x) });
    const o = fusedAdamwStepOptions.parse({ lr: 0.1, weightDecay: 0.01, eps: 1e-8 });
    const r = adamwRef({ params: t([1, -2]), grads: t([0.5, -0.25]), m: t([0, 0]), v: t([0, 0]) }, o);
    // Bias correction at step 1 undoes (1 − β): m̂ = g, v̂ = g².
    expect(r.p[0]).toBeCloseTo(1 * (1 - 0.001) - (0.1 * 0.5) / (0.5 + 1e-8), 14);
    expect(r.p[1]).toBeCloseTo(-2 * (1 - 0.001) + (0.1 * 0.25) / (0.25 + 1e-8), 14);
    expect(r.m[0]).toBeCloseTo(0.05, 15);
    expect(r.v[1]).toBeCloseTo(0.001 * 0.0625, 15);
    expect(r.flags).toBe(0);
  });

  it('clip_grad_norm_: factor min(max / (norm + 1e-6), 1); a non-finite gradient skips the step', () => {
    const t = (x: number[]): RefTensor => ({ dtype: 'f32', shape: [x.length], data: Float64Array.from(x) });
    const o = fusedAdamwStepOptions.parse({ maxGradNorm: 1 });
    const r = adamwRef({ params: t([1, 1]), grads: t([3, 4]), m: t([0, 0]), v: t([0, 0]) }, o);
    expect(r.norm).toBe(5);
    expect(r.clip).toBeCloseTo(1 / (5 + 1e-6), 15);
    const s = adamwRef({ params: t([1, 1]), grads: t([3, Infinity]), m: t([0.5, 0]), v: t([0, 0]) }, o);
    expect(s.flags).toBe(1);
    expect(Array.from(s.p)).toEqual([1, 1]);
    expect(Array.from(s.m)).toEqual([0.5, 0]);
  });
});

describe('fused_adamw_step on webgpu: the paths for large lists and small adapters', () => {
  const def: AdamwDef = { sizes: [3000, 0, 1700, 300], groups: [[1, 1], [2, 0], [0.5, 0], [1, 1]], options: { maxGradNorm: 0.3, step: 5 } };
  it.each(['f32', 'bf16'] as const)('%s: chunks of one binding and an 8-binding update, within the bounds', async (dtype) => {
    const host = adamwInputs(def, dtype, 11);
    const o = fusedAdamwStepOptions.parse(def.options);
    const refIn = Object.fromEntries(Object.entries(host).map(([k, h]) => [k, ref(h)]));
    const want = fusedAdamwStep.reference(refIn, o) as Record<string, RefTensor>;
    const bounds = fusedAdamwStep.bounds(refIn, o, want) as Record<string, Float64Array>;
    const infos = Object.fromEntries(Object.entries(want).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape }]));
    // 4.5 KiB bindings: 1024-element chunks (several partial sets and update dispatches);
    // 8 storage bindings: the master step writes params in a separate cast pass.
    const ctx = limitedContext(gpu(), { maxStorageBufferBindingSize: 4096 + 512, maxStorageBuffersPerShaderStage: 8 });
    const got = fusedAdamwStepLauncher.launch(ctx, 'portable', upload(host), o, infos);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [k, t] of Object.entries(got)) {
      const c = compare(toFloat64(t.dtype, await gpu().read(t)), want[k].data, bounds[k]);
      expect(c.firstBad, k).toBeUndefined();
    }
  });

  it('is bitwise deterministic (clipping, segments, bf16 master)', async () => {
    const host = adamwInputs({ ...def, gradsF32: false }, 'bf16', 12);
    const a = await readAll(gpu().fusedAdamwStep(upload(host) as never, def.options) as Record<string, Tensor>);
    const b = await readAll(gpu().fusedAdamwStep(upload(host) as never, def.options) as Record<string, Tensor>);
    expect(b).toEqual(a);
  });
});

describe('fused_adamw_step input checks', () => {
  const f = (n: number) => cpu.tensor(new Float32Array(n), [n]);
  const h = (n: number) => cpu.tensor(new Uint16Array(n), [n], 'bf16');
  it.each([
    ['bf16 params without master', () => cpu.fusedAdamwStep({ params: h(4), grads: h(4), m: f(4), v: f(4) }), ShapeError, /^\[fused_adamw_step\] master: required input is missing$/],
    ['f32 params with master', () => cpu.fusedAdamwStep({ params: f(4), grads: f(4), m: f(4), v: f(4), master: f(4) }), ShapeError, /^\[fused_adamw_step\] master: f32 params are their own master weights/],
    ['f16 grads for f32 params', () => cpu.fusedAdamwStep({ params: f(4), grads: cpu.tensor(new Uint16Array(4), [4], 'f16'), m: f(4), v: f(4) }), DTypeError, /^\[fused_adamw_step\] grads: expected dtype f32, got f16\[4\]$/],
    ['segments without groups', () => cpu.fusedAdamwStep({ params: f(4), grads: f(4), m: f(4), v: f(4), segments: cpu.tensor(Int32Array.of(0, 4), [2]) }), ShapeError, /^\[fused_adamw_step\] groups: segments and groups come together/],
    ['groups of another count', () => cpu.fusedAdamwStep({ params: f(4), grads: f(4), m: f(4), v: f(4), segments: cpu.tensor(Int32Array.of(0, 4), [2]), groups: cpu.tensor(new Float32Array(4), [2, 2]) }), ShapeError, /^\[fused_adamw_step\] groups: expected f32\[1,2\], got f32\[2,2\]$/],
    ['m of another size', () => cpu.fusedAdamwStep({ params: f(4), grads: f(4), m: f(5), v: f(4) }), ShapeError, /^\[fused_adamw_step\] m: expected f32\[4\], got f32\[5\]$/],
  ])('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });
});

