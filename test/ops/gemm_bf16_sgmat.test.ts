// bf16 gemm on the subgroup-matrix tier (gemm_bf16.ts, wgsl/gemm/gemm_sgmat_bf16.wgsl and
// its prepass gemm_bf16_exps.wgsl): where it is offered and taken, and that every pipeline
// compiles and every launch validates in Dawn's null backend (which offers subgroup
// matrices but runs nothing; lavapipe has none). Its numbers are checked on the H100:
// `pmetal conformance --quick --op gemm --dtype bf16 --tier subgroup-matrix --toggles
// allow_unsafe_apis,vulkan_enable_f16_on_nvidia`. The prepass itself runs on lavapipe here
// (it needs no matrices) and is checked against windowEntry; the method's numerics are
// emulated exactly in gemm_bf16_mma.test.ts.
import { describe, expect, it } from 'vitest';
import { windowOf, type AdapterTraits, type LaunchContext } from '../../src/backend/webgpu/launch.js';
import { GEMM_PARAMS, gemmLauncher, type GemmVariant } from '../../src/backend/webgpu/launchers/gemm.js';
import { GEMM_BF16_EXPS_PARAMS, GEMM_BF16_PARAMS, recordExps, sgmatBf16Pipeline, sgmatBf16WorkgroupBytes } from '../../src/backend/webgpu/launchers/gemm_bf16.js';
import { pipelineKey, shaderSource } from '../../src/backend/webgpu/pipelines.js';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import { windowEntry } from '../../src/ops/gemm/bf16_mma.js';
import { getSpec } from '../../src/ops/registry.js';
import type { Tensor } from '../../src/tensor.js';
import type { FloatDType } from '../../src/dtype.js';
import { useWebGpu, useDawnNull } from '../webgpu_backends.js';

const bools = [false, true];
const FEATURES = new Set(['chromium-experimental-subgroup-matrix', 'shader-f16', 'subgroups']);
const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({ componentType, resultComponentType, M, N, K });
const limits = { maxComputeInvocationsPerWorkgroup: 1024 } as GPUSupportedLimits;
const NVIDIA: AdapterTraits = { subgroupMatrixConfigs: [cfg('f16', 'f32', 16, 16, 16), cfg('f16', 'f32', 16, 8, 16)], subgroupMinSize: 32, subgroupMaxSize: 32, limits };
const APPLE: AdapterTraits = { subgroupMatrixConfigs: [cfg('f32', 'f32', 8, 8, 8), cfg('f16', 'f16', 8, 8, 8)], subgroupMaxSize: 32, limits };

function variants(): GemmVariant[] {
  const out: GemmVariant[] = [];
  for (const yDtype of ['f32', 'f16', 'bf16'] as FloatDType[]) for (const transA of bools) for (const transB of bools) for (const hasC of bools) for (const hasBias of bools) out.push({ yDtype, transA, transB, hasC, hasBias });
  return out;
}

/** A plain copy of a GPUSupportedLimits (its fields are getters). */
function limitsOf(l: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k in l) out[k] = (l as unknown as Record<string, number>)[k];
  return out;
}

const gpu = useWebGpu();
const nullGpu = useDawnNull();

describe('bf16 gemm: where the subgroup-matrix tier is offered', () => {
  it.each([
    ['NVIDIA-like (f16→f32 16×16×16, subgroups of 32)', NVIDIA, true],
    ['Apple-like (f32 8×8×8 only)', APPLE, false],
    ['subgroups of 64', { ...NVIDIA, subgroupMaxSize: 64 }, false],
  ] as const)('%s', (_l, adapter, offered) => {
    expect(gemmLauncher.tiers('bf16', FEATURES, adapter as AdapterTraits)[0] === 'subgroup-matrix').toBe(offered);
  });
  it('lavapipe (no subgroup matrices): not advertised', () => {
    expect(gpu().capabilities().ops.gemm.map((t) => t.tier)).not.toContain('subgroup-matrix');
  });
});

describe('gemm_sgmat_bf16.wgsl', () => {
  it('its Params struct is GEMM_PARAMS and the window fields (wgsl_reflect cannot parse the extension)', () => {
    expect(GEMM_BF16_PARAMS.slice(0, GEMM_PARAMS.length)).toEqual(GEMM_PARAMS);
    const code = shaderSource(sgmatBf16Pipeline({ variant: variants()[0] })).code;
    const body = /struct Params \{([^}]*)\}/.exec(code)![1];
    expect([...body.matchAll(/^\s*(\w+):\s*(\w+),/gm)].map((m) => [m[1], m[2]])).toEqual(GEMM_BF16_PARAMS.map(([n, t]) => [n, t]));
  });
  it('fits 48 KiB of workgroup memory in every layout', () => {
    for (const ta of bools) for (const tb of bools) expect(sgmatBf16WorkgroupBytes(ta, tb)).toBeLessThanOrEqual(49152);
  });
  it("every variant compiles on Dawn's null backend (WGSL validation and uniformity)", async () => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    const dev = nullGpu()!.rt.device;
    const bad: string[] = [];
    for (const v of variants()) {
      const s = sgmatBf16Pipeline({ variant: v });
      const src = shaderSource(s);
      dev.pushErrorScope('validation');
      const module = dev.createShaderModule({ code: src.code });
      const err = (await module.getCompilationInfo()).messages.find((m) => m.type === 'error');
      // A pipeline only where the adapter's workgroup memory fits (the null adapter offers 16 KiB).
      const fits = sgmatBf16WorkgroupBytes(v.transA, v.transB) <= dev.limits.maxComputeWorkgroupStorageSize;
      if (!err && fits) dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const scope = await dev.popErrorScope();
      if (err || scope) {
        const at = err ? src.lineMap[err.lineNum - 1] : undefined;
        bad.push(`${pipelineKey(s)}: ${err ? `${at?.file}:${at?.line}:${err.linePos} ${err.message}` : scope!.message}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('bf16 gemm launches on the subgroup-matrix tier (null backend)', () => {
  const spec = getSpec('gemm');
  const EXPS = 'gemm/gemm_bf16_exps.wgsl';
  const MMA = 'gemm/gemm_sgmat_bf16.wgsl';
  const TILED = 'gemm/gemm_tiled.wgsl';
  it.each([
    ['aligned, square', { m: 130, n: 136, k: 520 }, {}, [EXPS, EXPS, MMA]],
    ['transA, transB, batched a, c and bias, f32 out', { m: 72, n: 40, k: 264, batchA: 2, bias: true, beta: 0.5 }, { transA: true, transB: true, outDtype: 'f32' }, [EXPS, EXPS, MMA]],
    ['LM-head form (transB, ragged N)', { m: 64, n: 1000, k: 128 }, { transB: true }, [EXPS, EXPS, MMA]],
    ['K too short for any window (D > K): the tile kernel', { m: 64, n: 64, k: 64 }, {}, [TILED]],
    ['rows of b not whole 16-byte words: the tile kernel', { m: 64, n: 60, k: 128 }, {}, [TILED]],
    ['decode shape: the gemv kernel', { m: 4, n: 64, k: 128 }, { transB: true }, ['gemm/gemm_gemv_rows.wgsl']],
  ] as [string, { m: number; n: number; k: number; batchA?: number; bias?: boolean; beta?: number }, Record<string, unknown>, string[]][])(
    '%s',
    async (_l, s, opts, shaders) => {
      expect(nullGpu(), "Dawn's null backend").toBeDefined();
      const be = nullGpu()!;
      // The null adapter offers 16 KiB of workgroup memory; the kernel needs ~30 (H100: 48):
      // the launch is planned as for 48 KiB and its pipeline is then refused for that alone.
      const big = { ...limitsOf(be.rt.opened.limits), maxComputeWorkgroupStorageSize: 49152 } as GPUSupportedLimits;
      const ctx: LaunchContext = {
        rt: be.rt,
        features: be.rt.opened.features,
        limits: big,
        adapter: { ...NVIDIA, limits: big },
        buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer,
        output: (info) => be.zeros(info.shape, info.dtype),
      };
      const tA = !!opts.transA;
      const tB = !!opts.transB;
      const aShape = tA ? [s.k, s.m] : [s.m, s.k];
      const bShape = tB ? [s.n, s.k] : [s.k, s.n];
      const od = (opts.outDtype as FloatDType | undefined) ?? 'bf16';
      const yShape = s.batchA ? [s.batchA, s.m, s.n] : [s.m, s.n];
      const ins: Record<string, Tensor> = {
        a: be.zeros(s.batchA ? [s.batchA, ...aShape] : aShape, 'bf16'),
        b: be.zeros(bShape, 'bf16'),
        ...(s.beta ? { c: be.zeros(yShape, od) } : {}),
        ...(s.bias ? { bias: be.zeros([s.n], od) } : {}),
      };
      const o = spec.options.parse({ ...opts, ...(s.beta ? { beta: s.beta } : {}) });
      const outs = spec.check(ins, o) as Record<string, { dtype: FloatDType; shape: number[] }>;
      refreshTuning();
      be.rt.trace = [];
      const res = gemmLauncher.launch(ctx, 'subgroup-matrix', ins, o, outs);
      const trace = be.rt.trace;
      be.rt.trace = undefined;
      expect(trace.map((d) => d.pipeline.shader)).toEqual(shaders);
      // Each dispatch binds exactly the bindings its shader declares.
      for (const d of trace) {
        const code = shaderSource(d.pipeline).code;
        const declared = [...code.matchAll(/@binding\((\d+)\)/g)].map((m) => Number(m[1])).sort();
        const bound = [...d.bindings.map((b) => b.binding), ...(d.params ? [d.params.binding] : [])].sort();
        expect(bound, d.pipeline.shader).toEqual(declared);
      }
      if (shaders.includes(MMA)) await expect(be.sync()).rejects.toThrow(/gemm_sgmat_bf16.*workgroup storage \(\d+ bytes\) is larger than the maximum allowed \(16384/s);
      else await be.sync();
      for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
    },
    60_000,
  );
  it("the quick conformance cases reach the kernel (so the H100's quick run checks it)", async () => {
    const be = nullGpu()!;
    const big = { ...limitsOf(be.rt.opened.limits), maxComputeWorkgroupStorageSize: 49152 } as GPUSupportedLimits;
    const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits: big, adapter: { ...NVIDIA, limits: big }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
    refreshTuning();
    const reached: string[] = [];
    for (const c of spec.cases.filter((c) => c.quick)) {
      const ins: Record<string, Tensor> = {};
      for (const [k, h] of Object.entries(c.make('bf16', 1))) ins[k] = be.zeros(h.shape, h.dtype);
      const o = spec.options.parse(c.options);
      be.rt.trace = [];
      const res = gemmLauncher.launch(ctx, 'subgroup-matrix', ins, o, spec.check(ins, o) as never);
      if (be.rt.trace.some((d) => d.pipeline.shader === MMA)) reached.push(c.label);
      be.rt.trace = undefined;
      await be.sync().catch(() => {});
      for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
    }
    expect(reached.length, reached.join('; ')).toBeGreaterThanOrEqual(3);
  }, 60_000);
  it('PMETAL_GEMM_BF16_VARIANT=simt: the tile kernel', async () => {
    process.env.PMETAL_GEMM_BF16_VARIANT = 'simt';
    try {
      refreshTuning();
      const be = nullGpu()!;
      const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits: be.rt.opened.limits, adapter: { ...NVIDIA, limits: be.rt.opened.limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
      const ins = { a: be.zeros([64, 512], 'bf16'), b: be.zeros([512, 64], 'bf16') };
      const o = spec.options.parse({});
      be.rt.trace = [];
      const res = gemmLauncher.launch(ctx, 'subgroup-matrix', ins, o, spec.check(ins, o) as never);
      expect(be.rt.trace.map((d) => d.pipeline.shader)).toEqual([TILED]);
      be.rt.trace = undefined;
      await be.sync();
      for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
    } finally {
      delete process.env.PMETAL_GEMM_BF16_VARIANT;
      refreshTuning();
    }
  });
});

describe('gemm_bf16_exps.wgsl (runs on lavapipe) against windowEntry', () => {
  // Rows mixing what an entry must classify: zeros, ±0, normal ranges within and beyond 30
  // binades, bf16 subnormals, ±inf, NaN, tiny maxima (E < 16).
  const special = [0x0000, 0x8000, 0x3f80, 0xbf80, 0x0001, 0x7f80, 0xff80, 0x7fc0, 0x0800, 0x0f80, 0x4780, 0x3000, 0x2f00, 0x0080];
  function rows(r: number, k: number, seed: number): Uint16Array {
    const out = new Uint16Array(r * k);
    let x = seed;
    for (let i = 0; i < out.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      const row = Math.floor(i / k);
      // Row classes: plain (exponents 120–130), wide (any finite), special values sprinkled.
      const cls = row % 3;
      const e = cls === 0 ? 120 + (x % 11) : 1 + (x % 254);
      let h = ((x >>> 16) & 0x8000) | (e << 7) | ((x >>> 8) & 0x7f);
      if (cls === 2 && x % 7 === 0) h = special[(x >>> 5) % special.length];
      if (cls === 0 && x % 5 === 0) h = 0;
      out[i] = h;
    }
    return out;
  }
  it.each([
    ['[R, K] (K contiguous)', true],
    ['[K, R]', false],
  ])('%s, ragged last window, two batches', async (_l, kContig) => {
    const r = 21;
    const k = 328; // windows of 128: 128, 128, 72
    const kf = 128;
    const batches = 2;
    const data = rows(r * batches, k, kContig ? 7 : 9);
    // The stored layout: per batch [R, K] or its transpose [K, R].
    const stored = new Uint16Array(data.length);
    for (let z = 0; z < batches; z++)
      for (let i = 0; i < r; i++) for (let j = 0; j < k; j++) stored[z * r * k + (kContig ? i * k + j : j * r + i)] = data[(z * r + i) * k + j];
    const nwin = Math.ceil(k / kf);
    const ctx: LaunchContext = { rt: gpu().rt, features: gpu().rt.opened.features, limits: gpu().rt.opened.limits, adapter: { ...NVIDIA, limits: gpu().rt.opened.limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => gpu().zeros(info.shape, info.dtype) };
    const src = gpu().tensor(stored, [stored.length], 'bf16');
    const out = gpu().zeros([batches * r * nwin], 'u32');
    recordExps(ctx, windowOf(ctx, src, 0, 0, src.size), windowOf(ctx, out, 1, 0, out.size), r, k, kf, kContig, batches, r * k);
    const got = (await gpu().read(out)) as Uint32Array;
    src.dispose();
    out.dispose();
    const want: number[] = [];
    for (let z = 0; z < batches; z++) for (let t = 0; t < nwin; t++) for (let i = 0; i < r; i++) want.push(windowEntry(data.subarray((z * r + i) * k + t * kf, (z * r + i) * k + Math.min(k, (t + 1) * kf))));
    expect(Array.from(got)).toEqual(want);
  });
  it('the prepass Params', () => {
    const code = shaderSource({ shader: 'gemm/gemm_bf16_exps.wgsl', defines: { K_CONTIG: true } }).code;
    const body = /struct Params \{([^}]*)\}/.exec(code)![1];
    expect([...body.matchAll(/^\s*(\w+):\s*(\w+),/gm)].map((m) => [m[1], m[2]])).toEqual(GEMM_BF16_EXPS_PARAMS.map(([n, t]) => [n, t]));
  });
});
