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

describe('fused_norm_lora input checks', () => {
  const f = (shape: number[]) => cpu.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const base = () => ({ x: f([3, 8]), gamma: f([8]), weight: f([5, 8]), loraA: f([2, 8]), loraB: f([5, 2]) });
  const bwd = () => ({ dy: f([3, 5]), ...base(), rstd: f([3]), xa: f([3, 2]) });
  it.each([
    ['gamma of another length', () => cpu.fusedNormLora({ ...base(), gamma: f([7]) }), ShapeError, /^\[fused_norm_lora\] gamma: expected f32\[8\], got f32\[7\]$/],
    ['gamma of another dtype', () => cpu.fusedNormLora({ ...base(), gamma: cpu.tensor(new Uint16Array(8), [8], 'f16') }), DTypeError, /^\[fused_norm_lora\] gamma: expected f32\[8\], got f16\[8\]$/],
    ['gamma missing', () => cpu.fusedNormLora({ ...base(), gamma: undefined as never }), ShapeError, /^\[fused_norm_lora\] gamma: required input is missing$/],
    ['K = 0', () => cpu.fusedNormLora({ x: f([3, 0]), gamma: f([0]), weight: f([5, 0]), loraA: f([2, 0]), loraB: f([5, 2]) }), ShapeError, /^\[fused_norm_lora\] x: the normalized dimension K must be ≥ 1 \(dimension 1\), got f32\[3,0\]$/],
    ['eps 0', () => cpu.fusedNormLora(base(), { eps: 0 }), OptionsError, /^\[fused_norm_lora\] eps: expected a number in \[2\^-126/],
    ['dropout 1', () => cpu.fusedNormLora(base(), { dropout: 1 }), OptionsError, /^\[fused_norm_lora\] dropout: /],
    ['eps on the backward (rstd is the saved one)', () => cpu.fusedNormLoraBackward(bwd(), { eps: 1e-5 } as never), OptionsError, /^\[fused_norm_lora_backward\] options: /],
    ['rstd of another shape', () => cpu.fusedNormLoraBackward({ ...bwd(), rstd: f([3, 1]) }), ShapeError, /^\[fused_norm_lora_backward\] rstd: expected f32\[3\], got f32\[3,1\]$/],
    ['rstd missing', () => cpu.fusedNormLoraBackward({ ...bwd(), rstd: undefined as never }), ShapeError, /^\[fused_norm_lora_backward\] rstd: required input is missing$/],
    ['dAIn without accumulate', () => cpu.fusedNormLoraBackward({ ...bwd(), dAIn: f([2, 8]) }), ShapeError, /^\[fused_norm_lora_backward\] dAIn: given without accumulate/],
  ])('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });
});

describe.each(['cpu', 'webgpu', 'metal'])('fused_norm_lora_backward over zero tokens with accumulate on %s', (name) => {
  it('dA = dAIn, dB = dBIn, dγ = 0', async () => {
    const b: KernelBackend = name === 'cpu' ? cpu : name === 'webgpu' ? gpu : metal;
    const f = (shape: number[], v: (k: number) => number = () => 0) => b.tensor(Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, (_, k) => v(k)), shape);
    const out = b.fusedNormLoraBackward(
      { dy: f([0, 5]), x: f([0, 8]), gamma: f([8], () => 1), weight: f([5, 8]), loraA: f([2, 8]), loraB: f([5, 2]), rstd: f([0]), xa: f([0, 2]), dAIn: f([2, 8], (k) => k - 3.5), dBIn: f([5, 2], (k) => 0.25 * k) },
      { accumulate: true, alpha: 4 },
    );
    expect(Array.from(await b.read(out.dA))).toEqual(Array.from({ length: 16 }, (_, k) => k - 3.5));
    expect(Array.from(await b.read(out.dB))).toEqual(Array.from({ length: 10 }, (_, k) => 0.25 * k));
    expect(Array.from(await b.read(out.dGamma))).toEqual(new Array(8).fill(0));
    expect(out.dx.shape).toEqual([0, 8]);
  });
});

describe('fused_norm_lora forward on webgpu: the normalised activations are never stored', () => {
  it('one rstd-only row pass, both products that read x normalise it in their fetch, nothing else reads x', async () => {
    const f = (shape: number[], s: number) => gpu.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) => Math.sin(k * s)), shape);
    const x = f([20, 40], 1);
    gpu.rt.trace = [];
    const out = gpu.fusedNormLora({ x, gamma: f([40], 2), weight: f([24, 40], 3), loraA: f([4, 40], 4), loraB: f([24, 4], 5) }, { dropout: 0.25, seed: 3 });
    await gpu.read(out.y);
    const trace = gpu.rt.trace;
    gpu.rt.trace = undefined;
    const xBuf = x.storage<{ buffer: GPUBuffer }>().buffer;
    const summary = trace.map((d) => `${d.pipeline.shader}${d.pipeline.defines?.RSTD_ONLY ? ':rstd' : ''}${d.pipeline.defines?.NORM_A ? ':norm_a' : ''}`);
    expect(summary).toEqual(['norm/rms_norm.wgsl:rstd', 'gemm/gemm_tiled.wgsl:norm_a', 'gemm/gemm_tiled.wgsl', 'gemm/gemm_tiled.wgsl:norm_a']);
    // Only the rstd pass and the two normalising products bind x.
    const readers = trace.filter((d) => d.bindings.some((b) => b.buffer === xBuf)).map((d) => !!(d.pipeline.defines?.RSTD_ONLY || d.pipeline.defines?.NORM_A));
    expect(readers).toEqual([true, true, true]);
    for (const t of Object.values(out)) t.dispose();
  });
});
