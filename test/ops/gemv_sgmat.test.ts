// gemm's matrix-unit GEMV (wgsl/gemm/gemm_gemv_sgmat.wgsl, f16 at M ≤ 16 on the
// subgroup-matrix tier): which shapes and PMETAL_GEMV_VARIANT values reach it, and that every
// pipeline compiles and every launch validates on Dawn's null backend (subgroup matrices, but
// nothing runs; lavapipe has none). Its numbers are checked on the H100: `pmetal conformance
// --quick --op gemm --dtype f16 --tier subgroup-matrix --toggles
// allow_unsafe_apis,vulkan_enable_f16_on_nvidia` (the M = 5, 8, 16 decode cases reach it).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { AdapterTraits, LaunchContext } from '../../src/backend/webgpu/launch.js';
import { fusedMlpLauncher } from '../../src/backend/webgpu/launchers/fused_mlp.js';
import { gemmLauncher, gemmPipeline, gemvSgmatWorkgroupBytes, type GemmVariant } from '../../src/backend/webgpu/launchers/gemm.js';
import { pipelineKey, shaderSource } from '../../src/backend/webgpu/pipelines.js';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import { getSpec } from '../../src/ops/registry.js';
import type { Tensor } from '../../src/tensor.js';
import type { FloatDType } from '../../src/dtype.js';

const SGMAT = 'gemm/gemm_gemv_sgmat.wgsl';
const ROWS = 'gemm/gemm_gemv_rows.wgsl';
const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({ componentType, resultComponentType, M, N, K });
const NVIDIA: AdapterTraits = { subgroupMatrixConfigs: [cfg('f16', 'f32', 16, 16, 16), cfg('f16', 'f32', 16, 8, 16)], subgroupMinSize: 32, subgroupMaxSize: 32, limits: {} as GPUSupportedLimits };
const bools = [false, true];

let nullGpu: WebGpuBackend | undefined;
beforeAll(async () => {
  nullGpu = await WebGpuBackend.create({ dawnBackend: 'null', toggles: ['allow_unsafe_apis'] }).catch(() => undefined);
});
afterAll(() => nullGpu?.dispose());
afterEach(() => {
  delete process.env.PMETAL_GEMV_VARIANT;
  refreshTuning();
});

describe('gemm_gemv_sgmat.wgsl', () => {
  it('fits WebGPU\'s default 16 KiB of workgroup memory', () => {
    expect(gemvSgmatWorkgroupBytes(16)).toBeLessThanOrEqual(16384);
    expect(gemvSgmatWorkgroupBytes(8)).toBeLessThanOrEqual(16384);
  });
  it("every variant compiles and builds a pipeline on Dawn's null backend", async () => {
    expect(nullGpu, "Dawn's null backend").toBeDefined();
    const dev = nullGpu!.rt.device;
    const bad: string[] = [];
    for (const yDtype of ['f32', 'f16', 'bf16'] as FloatDType[])
      for (const hasC of bools)
        for (const hasBias of bools)
          for (const [rows, nx, nt] of [[1, 8, 2], [5, 8, 2], [8, 8, 1], [8, 16, 2], [9, 16, 2], [16, 16, 1], [16, 16, 2]] as [number, 8 | 16, 1 | 2][]) {
            const v: GemmVariant = { yDtype, transA: false, transB: true, hasC, hasBias };
            const s = gemmPipeline('subgroup-matrix', 'f16', v, { kernel: 'gemv_sgmat', rows, nx, nt });
            const src = shaderSource(s);
            dev.pushErrorScope('validation');
            const module = dev.createShaderModule({ code: src.code });
            const err = (await module.getCompilationInfo()).messages.find((m) => m.type === 'error');
            if (!err) dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
            const scope = await dev.popErrorScope();
            if (err || scope) {
              const at = err ? src.lineMap[err.lineNum - 1] : undefined;
              bad.push(`${pipelineKey(s)}: ${err ? `${at?.file}:${at?.line}:${err.linePos} ${err.message}` : scope!.message}`);
            }
          }
    expect(bad).toEqual([]);
  }, 120_000);
  it('refuses what it cannot take', () => {
    const v: GemmVariant = { yDtype: 'f16', transA: false, transB: true, hasC: false, hasBias: false };
    expect(() => gemmPipeline('subgroup-matrix', 'f32', v, { kernel: 'gemv_sgmat', rows: 4 })).toThrow(/gemm_gemv_sgmat takes f16/);
    expect(() => gemmPipeline('subgroup-matrix', 'f16', v, { kernel: 'gemv_sgmat', rows: 9, nx: 8 })).toThrow(/at most 8 rows/);
  });
});

describe('gemm decode shapes on the subgroup-matrix tier (null backend)', () => {
  const spec = getSpec('gemm');
  type Shape = { m: number; n: number; k: number; batch?: number; c?: boolean; bias?: boolean; dtype?: FloatDType };
  async function shaders(s: Shape, adapter: AdapterTraits = NVIDIA): Promise<{ shader: string; defines: Record<string, unknown>; groups: number[] }[]> {
    const be = nullGpu!;
    const limits = be.rt.opened.limits;
    const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits, adapter: { ...adapter, limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
    const dt = s.dtype ?? 'f16';
    const lead = s.batch ? [s.batch] : [];
    const ins: Record<string, Tensor> = {
      a: be.zeros([...lead, s.m, s.k], dt),
      b: be.zeros([s.n, s.k], dt),
      ...(s.c ? { c: be.zeros([...lead, s.m, s.n], dt) } : {}),
      ...(s.bias ? { bias: be.zeros([s.n], dt) } : {}),
    };
    const o = spec.options.parse({ transB: true, ...(s.c ? { beta: 0.5 } : {}) });
    refreshTuning();
    be.rt.trace = [];
    const res = gemmLauncher.launch(ctx, 'subgroup-matrix', ins, o, spec.check(ins, o) as never);
    const trace = be.rt.trace;
    be.rt.trace = undefined;
    // Each dispatch binds exactly the bindings its shader declares, and the launch validates.
    for (const d of trace) {
      const code = shaderSource(d.pipeline).code;
      const declared = [...code.matchAll(/@binding\((\d+)\)/g)].map((m) => Number(m[1])).sort();
      const bound = [...d.bindings.map((b) => b.binding), ...(d.params ? [d.params.binding] : [])].sort();
      expect(bound, d.pipeline.shader).toEqual(declared);
    }
    await be.sync();
    for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
    return trace.map((d) => ({ shader: d.pipeline.shader, defines: d.pipeline.defines ?? {}, groups: [...d.workgroups] as number[] }));
  }
  it.each([
    ['M = 8, N = 14336-like ragged N (NX = 8)', { m: 8, n: 200, k: 256 }, SGMAT, { MT: 8, NX: 8, NT: 2 }, [7, 1, 1]],
    ['M = 5, K % 16 = 8, ragged N', { m: 5, n: 72, k: 136 }, SGMAT, { MT: 5, NX: 8, NT: 2 }, [3, 1, 1]],
    ['M = 16 (NX = 16), c and bias, batched', { m: 16, n: 48, k: 520, batch: 2, c: true, bias: true }, SGMAT, { MT: 16, NX: 16, NT: 2 }, [2, 1, 2]],
    ['M = 12 (NX = 16)', { m: 12, n: 64, k: 64 }, SGMAT, { MT: 12, NX: 16 }, [2, 1, 1]],
    ['M = 1 stays on the SIMT kernel', { m: 1, n: 64, k: 64 }, ROWS, { MT: 1 }, [16, 1, 1]],
    ['N < 16: the SIMT kernel', { m: 8, n: 8, k: 64 }, ROWS, {}, [2, 1, 1]],
    ['K < 16: the SIMT kernel', { m: 8, n: 64, k: 8 }, ROWS, {}, [16, 1, 1]],
    ['bf16: the SIMT kernel', { m: 8, n: 64, k: 64, dtype: 'bf16' }, ROWS, {}, [16, 1, 1]],
  ] as [string, Shape, string, Record<string, unknown>, number[]][])('%s', async (_l, s, shader, defs, groups) => {
    expect(nullGpu, "Dawn's null backend").toBeDefined();
    const [d, ...rest] = await shaders(s);
    expect(rest).toEqual([]);
    expect(d.shader).toBe(shader);
    expect(d.defines).toMatchObject(defs);
    expect(d.groups).toEqual(groups);
  }, 60_000);
  it('an adapter without 16×8×16 pads x to 16 columns', async () => {
    const only16: AdapterTraits = { ...NVIDIA, subgroupMatrixConfigs: [cfg('f16', 'f32', 16, 16, 16)] };
    const [d] = await shaders({ m: 8, n: 64, k: 64 }, only16);
    expect(d.defines).toMatchObject({ MT: 8, NX: 16 });
  }, 60_000);
  it.each([
    ['rows', { m: 8, n: 64, k: 64 }, ROWS, {}],
    ['rows128', { m: 8, n: 64, k: 64 }, ROWS, { WG: 128 }],
    ['column', { m: 8, n: 64, k: 64 }, 'gemm/gemm_gemv.wgsl', {}],
    ['sgmat', { m: 1, n: 64, k: 64 }, SGMAT, { MT: 1, NX: 8, NT: 2 }],
    ['sgmat16', { m: 16, n: 64, k: 64 }, SGMAT, { MT: 16, NX: 16, NT: 1 }],
  ] as [string, Shape, string, Record<string, unknown>][])('PMETAL_GEMV_VARIANT=%s', async (variant, s, shader, defs) => {
    process.env.PMETAL_GEMV_VARIANT = variant;
    const [d] = await shaders(s);
    expect(d.shader).toBe(shader);
    expect(d.defines).toMatchObject(defs);
  }, 60_000);
  it('the quick conformance cases reach the kernel (so the H100 quick run checks it)', async () => {
    const be = nullGpu!;
    const limits = be.rt.opened.limits;
    const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits, adapter: { ...NVIDIA, limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
    refreshTuning();
    const reached: string[] = [];
    for (const c of spec.cases.filter((c) => c.quick)) {
      const ins: Record<string, Tensor> = {};
      for (const [k, h] of Object.entries(c.make('f16', 1))) ins[k] = be.zeros(h.shape, h.dtype);
      const o = spec.options.parse(c.options);
      be.rt.trace = [];
      const res = gemmLauncher.launch(ctx, 'subgroup-matrix', ins, o, spec.check(ins, o) as never);
      const hit = be.rt.trace.find((d) => d.pipeline.shader === SGMAT);
      if (hit) reached.push(`${c.label} (M ${hit.pipeline.defines?.MT})`);
      be.rt.trace = undefined;
      await be.sync();
      for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
    }
    expect(reached.filter((r) => /M (5|8|16)\)/.test(r)).length, reached.join('; ')).toBeGreaterThanOrEqual(3);
  }, 60_000);
});

describe("fused_mlp's decode gate/up GEMV on the subgroup-matrix tier (null backend)", () => {
  const spec = getSpec('fused_mlp');
  async function gateUp(t: number, inter: number, k: number, extra: Record<string, unknown> = {}, norm = false) {
    const be = nullGpu!;
    const limits = be.rt.opened.limits;
    const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits, adapter: { ...NVIDIA, limits }, buffer: (x) => x.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
    const ins: Record<string, Tensor> = {
      x: be.zeros([t, k], 'f16'),
      wGate: be.zeros([inter, k], 'f16'),
      wUp: be.zeros([inter, k], 'f16'),
      wDown: be.zeros([k, inter], 'f16'),
      ...(norm ? { normWeight: be.zeros([k], 'f16') } : {}),
    };
    const o = spec.options.parse(extra);
    refreshTuning();
    be.rt.trace = [];
    const res = fusedMlpLauncher.launch(ctx, 'subgroup-matrix', ins, o, spec.check(ins, o) as never);
    const trace = be.rt.trace;
    be.rt.trace = undefined;
    for (const d of trace) {
      const code = shaderSource(d.pipeline).code;
      const declared = [...code.matchAll(/@binding\((\d+)\)/g)].map((m) => Number(m[1])).sort();
      const bound = [...d.bindings.map((b) => b.binding), ...(d.params ? [d.params.binding] : [])].sort();
      expect(bound, d.pipeline.shader).toEqual(declared);
    }
    await be.sync();
    for (const x of [...Object.values(ins), ...Object.values(res as Record<string, Tensor>)]) x?.dispose();
    return trace.map((d) => ({ shader: d.pipeline.shader, defines: d.pipeline.defines ?? {}, groups: [...d.workgroups] as number[] }));
  }
  it.each([
    ['T = 16, ragged I, K % 16 = 8', 16, 72, 136, {}, { MT: 16, NX: 16, SWIGLU_ROWS: true, WRITE_GU: false }, 5],
    ['T = 8, recompute = false (g and u stored)', 8, 64, 128, { recompute: false }, { MT: 8, NX: 8, SWIGLU_ROWS: true, WRITE_GU: true }, 4],
  ] as [string, number, number, number, Record<string, unknown>, Record<string, unknown>, number][])('%s: one gemm_gemv_sgmat SWIGLU_ROWS dispatch', async (_l, t, inter, k, extra, defs, groups) => {
    expect(nullGpu, "Dawn's null backend").toBeDefined();
    const [gu, down, ...rest] = await gateUp(t, inter, k, extra);
    expect(gu.shader).toBe(SGMAT);
    expect(gu.defines).toMatchObject(defs);
    expect(gu.groups).toEqual([groups, 1, 1]);
    // The down projection is gemm's decode GEMV, on the matrix units too.
    expect(down.shader).toBe(SGMAT);
    expect(rest).toEqual([]);
  }, 60_000);
  it('T = 1 and the NORM prologue (T ≤ 2 by default) keep gemm_gemv_rows', async () => {
    const [a] = await gateUp(1, 64, 128);
    expect(a.shader).toBe(ROWS);
    const [b] = await gateUp(2, 64, 128, {}, true);
    expect(b.shader).toBe(ROWS);
    expect(b.defines).toMatchObject({ SWIGLU_ROWS: true, NORM: true });
  }, 60_000);
});
