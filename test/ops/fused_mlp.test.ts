import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { DTypeError, OptionsError, ShapeError } from '../../src/errors.js';

const cpu = new CpuBackend();
let gpu: WebGpuBackend;
let metal: MetalBackend;
beforeAll(async () => {
  gpu = await WebGpuBackend.create();
  metal = await MetalBackend.create(process.platform !== 'darwin' ? { chip: 'M5' } : {});
});
afterAll(() => {
  gpu?.dispose();
  metal?.dispose();
});

describe('fused_mlp input checks', () => {
  const f = (shape: number[]) => cpu.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const base = () => ({ x: f([3, 8]), wGate: f([6, 8]), wUp: f([6, 8]), wDown: f([8, 6]) });
  it.each([
    ['wUp of another shape', () => cpu.fusedMlp({ ...base(), wUp: f([5, 8]) }), ShapeError, /^\[fused_mlp\] wUp: expected f32\[6,8\], got f32\[5,8\]$/],
    ['wDown not [N, I]', () => cpu.fusedMlp({ ...base(), wDown: f([8, 5]) }), ShapeError, /^\[fused_mlp\] wDown: expected f32\[8,6\], got f32\[8,5\]$/],
    ['wGate of another dtype', () => cpu.fusedMlp({ ...base(), wGate: cpu.tensor(new Uint16Array(48), [6, 8], 'f16') }), DTypeError, /^\[fused_mlp\] wGate: expected f32\[6,8\], got f16\[6,8\]$/],
    ['wDown missing', () => cpu.fusedMlp({ ...base(), wDown: undefined as never }), ShapeError, /^\[fused_mlp\] wDown: required input is missing$/],
    ['I = 0', () => cpu.fusedMlp({ x: f([3, 8]), wGate: f([0, 8]), wUp: f([0, 8]), wDown: f([8, 0]) }), ShapeError, /^\[fused_mlp\] wGate: the intermediate size I must be ≥ 1 \(dimension 0\), got f32\[0,8\]$/],
    ['K = 0', () => cpu.fusedMlp({ x: f([3, 0]), wGate: f([6, 0]), wUp: f([6, 0]), wDown: f([0, 6]) }), ShapeError, /^\[fused_mlp\] x: the input features K must be ≥ 1 \(dimension 1\), got f32\[3,0\]$/],
    ['an adapter half alone', () => cpu.fusedMlp({ ...base(), upA: f([2, 8]) }), ShapeError, /^\[fused_mlp\] upB: expected with upA \(an adapter is A and B together\), got none$/],
    ['down adapter A over K instead of I', () => cpu.fusedMlp({ ...base(), downA: f([2, 8]), downB: f([8, 2]) }), ShapeError, /^\[fused_mlp\] downA: expected f32\[2,6\], got f32\[2,8\]$/],
    ['gate adapter rank 0', () => cpu.fusedMlp({ ...base(), gateA: f([0, 8]), gateB: f([6, 0]) }), ShapeError, /^\[fused_mlp\] gateA: the LoRA rank r must be ≥ 1 \(dimension 0\), got f32\[0,8\]$/],
    ['gate B of another rank', () => cpu.fusedMlp({ ...base(), gateA: f([2, 8]), gateB: f([6, 3]) }), ShapeError, /^\[fused_mlp\] gateB: expected f32\[6,2\], got f32\[6,3\]$/],
    ['dropout 1', () => cpu.fusedMlp(base(), { dropout: 1 }), OptionsError, /^\[fused_mlp\] dropout: /],
    ['a QLoRA format (dense W only)', () => cpu.fusedMlp(base(), { format: 'q4_0' } as never), OptionsError, /^\[fused_mlp\] options: /],
  ])('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });
});

describe('fused_mlp_backward input checks', () => {
  const f = (shape: number[]) => cpu.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const base = () => ({ dy: f([3, 8]), x: f([3, 8]), wGate: f([6, 8]), wUp: f([6, 8]), wDown: f([8, 6]), upA: f([2, 8]), upB: f([6, 2]), upXa: f([3, 2]) });
  it.each([
    ['the adapter\'s saved xa missing', () => cpu.fusedMlpBackward({ ...base(), upXa: undefined as never }), ShapeError, /^\[fused_mlp_backward\] upXa: required input is missing$/],
    ['xa of another rank', () => cpu.fusedMlpBackward({ ...base(), upXa: f([3, 3]) }), ShapeError, /^\[fused_mlp_backward\] upXa: expected f32\[3,2\], got f32\[3,3\]$/],
    ['xa without its adapter', () => cpu.fusedMlpBackward({ ...base(), gateXa: f([3, 2]) }), ShapeError, /^\[fused_mlp_backward\] gateXa: given without the gate adapter \(it would be ignored\)/],
    ['dy of another width', () => cpu.fusedMlpBackward({ ...base(), dy: f([3, 6]) }), ShapeError, /^\[fused_mlp_backward\] dy: expected f32\[3,8\], got f32\[3,6\]$/],
    ['saved g without recompute = false', () => cpu.fusedMlpBackward({ ...base(), gate: f([3, 6]) }), ShapeError, /^\[fused_mlp_backward\] gate: given with recompute/],
    ['recompute = false without the saved u', () => cpu.fusedMlpBackward({ ...base(), gate: f([3, 6]) }, { recompute: false }), ShapeError, /^\[fused_mlp_backward\] up: required input is missing$/],
    ['saved g of another shape', () => cpu.fusedMlpBackward({ ...base(), gate: f([3, 5]), up: f([3, 6]) }, { recompute: false }), ShapeError, /^\[fused_mlp_backward\] gate: expected f32\[3,6\], got f32\[3,5\]$/],
    ['accumulate without upDAIn', () => cpu.fusedMlpBackward({ ...base(), upDBIn: f([6, 2]) }, { accumulate: true }), ShapeError, /^\[fused_mlp_backward\] upDAIn: required input is missing$/],
    ['upDBIn without accumulate', () => cpu.fusedMlpBackward({ ...base(), upDBIn: f([6, 2]) }), ShapeError, /^\[fused_mlp_backward\] upDBIn: given without accumulate/],
    ['an unknown option', () => cpu.fusedMlpBackward(base(), { eps: 1e-5 } as never), OptionsError, /^\[fused_mlp_backward\] options: /],
  ])('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });
});

describe.each(['cpu', 'webgpu', 'metal'])('fused_mlp_backward over zero tokens with accumulate on %s', (name) => {
  it('each dA, dB = its dAIn, dBIn', async () => {
    const b: KernelBackend = name === 'cpu' ? cpu : name === 'webgpu' ? gpu : metal;
    const f = (shape: number[], v: (k: number) => number = () => 0) => b.tensor(Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, (_, k) => v(k)), shape);
    const out = b.fusedMlpBackward(
      { dy: f([0, 8]), x: f([0, 8]), wGate: f([5, 8]), wUp: f([5, 8]), wDown: f([8, 5]), gateA: f([2, 8]), gateB: f([5, 2]), gateXa: f([0, 2]), gateDAIn: f([2, 8], (k) => k - 3.5), gateDBIn: f([5, 2], (k) => 0.25 * k) },
      { accumulate: true, alpha: 4, dropout: 0.5 },
    );
    expect(Object.keys(out).sort()).toEqual(['dx', 'gateDA', 'gateDB']);
    expect(Array.from(await b.read(out.gateDA!))).toEqual(Array.from({ length: 16 }, (_, k) => k - 3.5));
    expect(Array.from(await b.read(out.gateDB!))).toEqual(Array.from({ length: 10 }, (_, k) => 0.25 * k));
    expect(out.dx.shape).toEqual([0, 8]);
  });
});

describe('fused_mlp on webgpu: the launch plan', () => {
  const f = (shape: number[], s: number) => gpu.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) => Math.sin(k * s)), shape);
  const run = (options: Record<string, unknown>) => {
    gpu.rt.trace = [];
    const out = gpu.fusedMlp({ x: f([6, 12], 1), wGate: f([20, 12], 2), wUp: f([20, 12], 3), wDown: f([12, 20], 4), upA: f([2, 12], 5), upB: f([20, 2], 6) }, { dropout: 0.25, seed: 9, ...options });
    const trace = gpu.rt.trace;
    gpu.rt.trace = undefined;
    return { out, trace };
  };

  it('recompute: g and u in one pass over x (SWIGLU), never stored; h written once; then the down projection', async () => {
    const { out, trace } = run({});
    await gpu.read(out.y);
    // up's LoRA side (mask(x), xa, t: gemm kernels chosen by shape), the dual product (t as
    // u's c), the down projection: no swiglu pass, no other dispatch of the SWIGLU kernel.
    const sw = trace.map((d, q) => (d.pipeline.defines?.SWIGLU ? q : -1)).filter((q) => q >= 0);
    expect(sw).toEqual([trace.length - 2]);
    expect(trace[sw[0]].pipeline.defines).toMatchObject({ HAS_C: false, HAS_C2: true });
    expect(trace.filter((d) => d.pipeline.shader.startsWith('elementwise/swiglu'))).toHaveLength(0);
    expect(trace.map((d) => d.pipeline.shader).filter((s) => s === 'lora/lora_elementwise.wgsl')).toHaveLength(1);
    expect(Object.keys(out).sort()).toEqual(['upXa', 'y']);
    for (const t of Object.values(out)) t.dispose();
  });

  it('recompute = false: g and u are outputs, so two projections write them and swiglu reads them', async () => {
    const { out, trace } = run({ recompute: false });
    await gpu.read(out.y);
    const shaders = trace.map((d) => d.pipeline.shader);
    expect(shaders.filter((s) => s.startsWith('elementwise/swiglu'))).toHaveLength(1);
    expect(trace.some((d) => d.pipeline.defines?.SWIGLU)).toBe(false);
    expect(Object.keys(out).sort()).toEqual(['gate', 'up', 'upXa', 'y']);
    for (const t of Object.values(out)) t.dispose();
  });
});
