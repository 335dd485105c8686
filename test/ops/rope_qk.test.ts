// rope / rope_backward with the optional second tensor (k → yk, dk → dxk): one dispatch
// rotates both on webgpu (whichever kernel the layout takes), the result is what two
// separate calls give bit for bit on every backend (same per-element arithmetic), an empty
// one of the two leaves the other to run alone, shapes are checked with typed errors naming
// k / dk, and the gradient check covers dk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { createBackend } from '../../src/backend/load.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { DTypeError, ShapeError } from '../../src/errors.js';
import { uniform } from '../../src/ops/random.js';
import type { FloatDType } from '../../src/dtype.js';
import type { Tensor } from '../../src/tensor.js';
import { runConformance } from '../../conformance/runner.js';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { shaderSource } from '../../src/backend/webgpu/pipelines.js';
import { layoutOf } from '../../src/backend/params.js';

let gpu: WebGpuBackend;
let metal: KernelBackend;
const cpu = new CpuBackend();
beforeAll(async () => {
  gpu = await WebGpuBackend.create();
  metal = await createBackend('metal', { metal: { chip: 'M5' } });
});
afterAll(() => {
  gpu?.dispose();
  metal?.dispose();
});
const backend = (name: string): KernelBackend => (name === 'cpu' ? cpu : name === 'webgpu' ? gpu : metal);

/** One layout per webgpu kernel: rope_vec (16-byte words), rope.wgsl (32-bit words), rope_elementwise (odd D). */
const LAYOUTS: { label: string; s: number; h: number; hk: number; d: number; options: Record<string, unknown> }[] = [
  { label: 'rope_vec: H=8, Hk=2, D=64', s: 3, h: 8, hk: 2, d: 64, options: { offset: 40 } },
  { label: 'rope.wgsl: H=3, Hk=1, D=12, rotaryDim=8', s: 4, h: 3, hk: 1, d: 12, options: { rotaryDim: 8 } },
  { label: 'rope_elementwise: H=3, Hk=2, D=5, GPT-J', s: 3, h: 3, hk: 2, d: 5, options: { rotaryDim: 4, style: 'gptj' } },
];

async function bits(b: KernelBackend, t: Tensor): Promise<number[]> {
  return [...new Uint16Array((await b.read(t)).buffer.slice(0))];
}

describe('rope with k', () => {
  it.each(LAYOUTS)('webgpu records one dispatch for q and k ($label), forward and backward', async (l) => {
    const dt: FloatDType = 'f16';
    const x = gpu.tensor(uniform(dt, [l.s, l.h, l.d], 1, -2, 2).data, [l.s, l.h, l.d], dt);
    const k = gpu.tensor(uniform(dt, [l.s, l.hk, l.d], 2, -2, 2).data, [l.s, l.hk, l.d], dt);
    for (const op of ['rope', 'rope_backward'] as const) {
      const [xn, kn, yn, ykn] = op === 'rope' ? ['x', 'k', 'y', 'yk'] : ['dy', 'dk', 'dx', 'dxk'];
      const before = gpu.rt.dispatchCount;
      const both = gpu.run(op, { [xn]: x, [kn]: k }, l.options);
      expect(gpu.rt.dispatchCount - before, `${op}: dispatches`).toBe(1);
      const q1 = gpu.run(op, { [xn]: x }, l.options)[yn];
      const k1 = gpu.run(op, { [xn]: k }, l.options)[yn];
      expect(await bits(gpu, both[yn]), `${op} ${yn}`).toEqual(await bits(gpu, q1));
      expect(await bits(gpu, both[ykn]), `${op} ${ykn}`).toEqual(await bits(gpu, k1));
      for (const t of [...Object.values(both), q1, k1]) t.dispose();
    }
    x.dispose();
    k.dispose();
  });

  it('webgpu binds exactly what each rope kernel uses with and without k, Params field for field (wgsl_reflect)', () => {
    gpu.rt.trace = [];
    for (const l of LAYOUTS)
      for (const dt of ['f32', 'f16'] as const) {
        const x = gpu.tensor(uniform(dt, [l.s, l.h, l.d], 1).data, [l.s, l.h, l.d], dt);
        const k = gpu.tensor(uniform(dt, [l.s, l.hk, l.d], 2).data, [l.s, l.hk, l.d], dt);
        const pos = gpu.tensor(Int32Array.from({ length: l.s }, (_, j) => 3 * j), [l.s], 'i32');
        const outs = [gpu.rope({ x, k, positions: pos }, { ...l.options, offset: 0 }), gpu.ropeBackward({ dy: x, dk: k }, l.options), gpu.rope({ x }, l.options)];
        for (const t of [x, k, pos, ...outs.flatMap((r) => Object.values(r) as Tensor[])]) t.dispose();
      }
    const trace = gpu.rt.trace;
    gpu.rt.trace = undefined;
    const shaders = new Set<string>();
    for (const d of trace) {
      const reflect = new WgslReflect(shaderSource(d.pipeline).code);
      const used = reflect.entry.compute[0].resources.filter((r) => r.resourceType !== undefined && r.group === 0 && r.binding !== d.params?.binding);
      expect(d.bindings.map((b) => b.binding).sort()).toEqual(used.map((r) => r.binding).sort());
      const layout = d.params ? layoutOf.get(d.params.data) : undefined;
      const u = reflect.uniforms.find((v) => v.binding === d.params?.binding);
      expect((u!.members ?? []).map((m) => [m.name, m.type.name, m.offset])).toEqual(layout!.map(([n, t], j) => [n, t, j * 4]));
      shaders.add(`${d.pipeline.shader}:QK=${Number(d.pipeline.defines?.QK)}`);
    }
    expect([...shaders].sort()).toEqual(['rope/rope.wgsl', 'rope/rope_elementwise.wgsl', 'rope/rope_vec.wgsl'].flatMap((f) => [`${f}:QK=0`, `${f}:QK=1`]));
  });

  it.each([
    ['deep', 1],
    ['split', 2],
  ] as const)('webgpu PMETAL_ROPE_QK_VARIANT=%s: %i dispatch(es), the same bits as the default, not a replay of its launch tape', async (variant, n) => {
    for (const [dt, l] of [
      ['f16', { s: 3, h: 8, hk: 2, d: 64, options: {} }],
      ['f32', { s: 300, h: 5, hk: 1, d: 16, options: { style: 'gptj' } }],
      ['bf16', { s: 3, h: 3, hk: 2, d: 5, options: { rotaryDim: 4 } }],
    ] as const) {
      const x = gpu.tensor(uniform(dt, [l.s, l.h, l.d], 5, -2, 2).data, [l.s, l.h, l.d], dt);
      const k = gpu.tensor(uniform(dt, [l.s, l.hk, l.d], 6, -2, 2).data, [l.s, l.hk, l.d], dt);
      // The default twice: the second call replays its recorded launch.
      const want = gpu.rope({ x, k }, l.options);
      const again = gpu.rope({ x, k }, l.options);
      process.env.PMETAL_ROPE_QK_VARIANT = variant;
      refreshTuning();
      try {
        const before = gpu.rt.dispatchCount;
        const got = gpu.rope({ x, k }, l.options);
        expect(gpu.rt.dispatchCount - before, `${dt} ${JSON.stringify(l)}`).toBe(n);
        expect(await bits(gpu, got.y)).toEqual(await bits(gpu, want.y));
        expect(await bits(gpu, got.yk!)).toEqual(await bits(gpu, want.yk!));
        for (const t of [got.y, got.yk!]) t.dispose();
      } finally {
        delete process.env.PMETAL_ROPE_QK_VARIANT;
        refreshTuning();
      }
      for (const t of [x, k, want.y, want.yk!, again.y, again.yk!]) t.dispose();
    }
  });

  it('webgpu: an unknown PMETAL_ROPE_QK_VARIANT is an OptionsError naming it', () => {
    const x = gpu.tensor(new Float32Array(2 * 3 * 8), [2, 3, 8]);
    process.env.PMETAL_ROPE_QK_VARIANT = 'fast';
    refreshTuning();
    try {
      expect(() => gpu.rope({ x }, { offset: 77 })).toThrow(/^\[rope\] PMETAL_ROPE_QK_VARIANT: expected one of fused, deep, split, got 'fast'$/);
    } finally {
      delete process.env.PMETAL_ROPE_QK_VARIANT;
      refreshTuning();
      x.dispose();
    }
  });

  it.each(['cpu', 'webgpu', 'metal'])('%s: y and yk are what two separate calls give; an empty q or k leaves the other alone', async (name) => {
    const b = backend(name);
    const dt: FloatDType = 'bf16';
    const pos = b.tensor(Int32Array.from([5, 900, 3]), [3], 'i32');
    for (const [h, hk] of [
      [4, 1],
      [0, 2],
      [3, 0],
    ]) {
      const x = b.tensor(uniform(dt, [3, h, 32], 3, -2, 2).data, [3, h, 32], dt);
      const k = b.tensor(uniform(dt, [3, hk, 32], 4, -2, 2).data, [3, hk, 32], dt);
      const r = b.rope({ x, k, positions: pos }, { scaling: { type: 'yarn', factor: 4, originalMaxPositions: 64 } });
      const q1 = b.rope({ x, positions: pos }, { scaling: { type: 'yarn', factor: 4, originalMaxPositions: 64 } }).y;
      const k1 = b.rope({ x: k, positions: pos }, { scaling: { type: 'yarn', factor: 4, originalMaxPositions: 64 } }).y;
      expect(r.y.shape).toEqual([3, h, 32]);
      expect(r.yk!.shape).toEqual([3, hk, 32]);
      expect(await bits(b, r.y), `H=${h}: y`).toEqual(await bits(b, q1));
      expect(await bits(b, r.yk!), `Hk=${hk}: yk`).toEqual(await bits(b, k1));
      for (const t of [x, k, r.y, r.yk!, q1, k1]) t.dispose();
    }
    pos.dispose();
  });

  describe.each(['cpu', 'webgpu', 'metal'])('typed errors naming k / dk on %s, before any work', (name) => {
    const f16 = (shape: number[]) => backend(name).tensor(new Uint16Array(shape.reduce((a, c) => a * c, 1)), shape, 'f16');
    const cases: [string, () => unknown, typeof ShapeError | typeof DTypeError, RegExp][] = [
      ['k of another dtype', () => backend(name).rope({ x: f16([3, 4, 8]), k: backend(name).tensor(new Float32Array(24), [3, 1, 8]) }), DTypeError, /^\[rope\] k: expected f16 \(the dtype of x\), got f32\[3,1,8\]$/],
      ['k of another head dim', () => backend(name).rope({ x: f16([3, 4, 8]), k: f16([3, 1, 6]) }), ShapeError, /^\[rope\] k: expected f16\[3,Hk,8\] \(the S and D of x, any head count Hk\), got f16\[3,1,6\]$/],
      ['k of another length', () => backend(name).rope({ x: f16([2, 3, 4, 8]), k: f16([2, 2, 1, 8]) }), ShapeError, /^\[rope\] k: expected f16\[2,3,Hk,8\] \(the B, S and D of x, any head count Hk\), got f16\[2,2,1,8\]$/],
      ['k of another rank', () => backend(name).rope({ x: f16([3, 4, 8]), k: f16([1, 3, 1, 8]) }), ShapeError, /^\[rope\] k: expected f16\[3,Hk,8\] .*got f16\[1,3,1,8\]$/],
      ['dk of another head dim', () => backend(name).ropeBackward({ dy: f16([3, 4, 8]), dk: f16([3, 2, 4]) }), ShapeError, /^\[rope_backward\] dk: expected f16\[3,Hk,8\] \(the S and D of dy, any head count Hk\), got f16\[3,2,4\]$/],
    ];
    it.each(cases)('%s', (_l, call, type, msg) => {
      const before = gpu.rt.dispatchCount;
      expect(call).toThrow(type);
      expect(call).toThrow(msg);
      expect(gpu.rt.dispatchCount).toBe(before);
    });
  });

  it('the gradient check covers dk (rope_backward against finite differences of rope)', async () => {
    const res = await runConformance({ backends: [cpu], ops: ['rope_backward'], quick: true });
    const k = res.grads.filter((g) => g.input === 'k');
    expect(k.length).toBeGreaterThanOrEqual(10);
    expect(res.grads.filter((g) => !g.pass)).toEqual([]);
  });
});
