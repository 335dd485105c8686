import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { openDevice, type OpenedDevice } from '../../src/backend/webgpu/device.js';
import { GEMM_PARAMS, TILED_CONFIGS, gemmLauncher, gemmPipeline, sgmatVecWorkgroupBytes, sgmatWorkgroupBytes, vecAligned, type GemmVariant } from '../../src/backend/webgpu/launchers/gemm.js';
import { shaderSource, pipelineKey, type PipelineSpec } from '../../src/backend/webgpu/pipelines.js';
import { DTypeError, OptionsError, ShapeError } from '../../src/errors.js';
import type { FloatDType } from '../../src/dtype.js';
import { useWebGpu } from '../webgpu_backends.js';

const Y_DTYPES: FloatDType[] = ['f32', 'f16', 'bf16'];
const bools = [false, true];

/** Every variant the launcher can request: output dtype × transposes × c × bias. */
function variants(): GemmVariant[] {
  const out: GemmVariant[] = [];
  for (const yDtype of Y_DTYPES) for (const transA of bools) for (const transB of bools) for (const hasC of bools) for (const hasBias of bools) out.push({ yDtype, transA, transB, hasC, hasBias });
  return out;
}
const sgmatSpecs = (sgSize: number, wides = [true, false]): PipelineSpec[] => wides.flatMap((wide) => variants().map((v) => gemmPipeline('subgroup-matrix', 'f16', v, { sgSize, wide })));
const sgmatVecModes = [{}, { dbuf: true }, { shallowK: true }, { dbuf: true, shallowK: true }];
/** The split-K partial passes (gemm_splitk.ts): f32 partials, no c or bias, every transpose. */
const splitVariants = (): GemmVariant[] => bools.flatMap((transA) => bools.map((transB) => ({ yDtype: 'f32' as const, transA, transB, hasC: false, hasBias: false, splitK: true })));
const sgmatVecSpecs = (): PipelineSpec[] =>
  sgmatVecModes.flatMap((mode) => bools.flatMap((wideN) => [...variants(), ...splitVariants()].map((v) => gemmPipeline('subgroup-matrix', 'f16', v, { kernel: 'sgmat_vec', wideN, ...mode }))));
const sgmat8Specs = (): PipelineSpec[] => variants().map((v) => gemmPipeline('subgroup-matrix', 'f16', v, { kernel: 'sgmat8', sgSize: 32 }));
const tiledSpecs = (): PipelineSpec[] =>
  (['f32', 'f16', 'bf16'] as const).flatMap((ad) =>
    [...variants(), ...splitVariants()].flatMap((v) => (Object.keys(TILED_CONFIGS) as (keyof typeof TILED_CONFIGS)[]).flatMap((config) => bools.map((vec) => gemmPipeline('portable', ad, v, { config, vec })))),
  );
const gemvSpecs = (): PipelineSpec[] =>
  (['f32', 'f16', 'bf16'] as const).flatMap((ad) =>
    variants()
      .filter((v) => v.transB && !v.transA)
      .flatMap((v) => [...bools.map((vec) => gemmPipeline('portable', ad, v, { kernel: 'gemv', vec })), ...[1, 3, 8, 16].flatMap((rows) => [256, 128].map((wg) => gemmPipeline('portable', ad, v, { kernel: 'gemv_rows', rows, wg })))]),
  );

/** Compiles each spec's final source with Dawn; returns `key: first error` for failures. */
async function compileAll(dev: GPUDevice, specs: PipelineSpec[], pipelines: boolean): Promise<string[]> {
  const bad: string[] = [];
  for (const s of specs) {
    // Pipelines only where the adapter's workgroup memory fits the variant (the launcher's rule).
    const d = s.defines;
    const bytes = 'WIDE_SMEM' in d ? sgmatWorkgroupBytes(!!d.WIDE_SMEM, !!d.TRANS_A, !!d.TRANS_B) : 'WIDE_N' in d ? sgmatVecWorkgroupBytes(!!d.WIDE_N, !!d.TRANS_A, !!d.TRANS_B, !!d.DBUF, !!d.SHALLOW_K) : 0;
    const fits = bytes <= dev.limits.maxComputeWorkgroupStorageSize;
    const src = shaderSource(s);
    dev.pushErrorScope('validation');
    const module = dev.createShaderModule({ code: src.code, label: pipelineKey(s) });
    const info = await module.getCompilationInfo();
    const err = info.messages.find((m) => m.type === 'error');
    if (pipelines && fits && !err) dev.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main', constants: s.overrides ?? {} } });
    const scope = await dev.popErrorScope();
    if (err || scope) {
      const at = err ? src.lineMap[err.lineNum - 1] : undefined;
      bad.push(`${pipelineKey(s)}: ${err ? `${at?.file}:${at?.line}:${err.linePos} ${err.message}` : scope!.message}`);
    }
  }
  return bad;
}

describe('gemm kernels', () => {
  it('tiers are honest per dtype', () => {
    const all = new Set(['chromium-experimental-subgroup-matrix', 'shader-f16', 'subgroups']);
    expect(gemmLauncher.tiers('f16', all)).toEqual(['subgroup-matrix', 'portable']);
    expect(gemmLauncher.tiers('f32', all)).toEqual(['portable']);
    // bf16: the matrix-unit kernel of gemm_bf16.ts (exactly scaled to f16) where it fits.
    expect(gemmLauncher.tiers('bf16', all)).toEqual(['subgroup-matrix', 'portable']);
    expect(gemmLauncher.tiers('f16', new Set(['shader-f16', 'subgroups']))).toEqual(['portable']);
    expect(gemmLauncher.tiers('f16', new Set(['chromium-experimental-subgroup-matrix', 'shader-f16']))).toEqual(['portable']);
    // With the adapter's configurations: offered where a kernel fits one (NVIDIA, Apple), not
    // where only f16-accumulating ones exist (Intel Xe2) or none are reported.
    const limits = { maxComputeInvocationsPerWorkgroup: 1024 } as GPUSupportedLimits;
    const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({ componentType, resultComponentType, M, N, K });
    const nvidia = { subgroupMatrixConfigs: [cfg('f16', 'f32', 16, 16, 16), cfg('f16', 'f32', 16, 8, 16)], subgroupMaxSize: 32, limits };
    const apple = { subgroupMatrixConfigs: [cfg('f32', 'f32', 8, 8, 8), cfg('f16', 'f16', 8, 8, 8)], subgroupMaxSize: 32, limits };
    const intel = { subgroupMatrixConfigs: [cfg('f16', 'f16', 8, 16, 16)], subgroupMaxSize: 32, limits };
    expect(gemmLauncher.tiers('f16', all, nvidia)).toEqual(['subgroup-matrix', 'portable']);
    expect(gemmLauncher.tiers('f16', all, apple)).toEqual(['subgroup-matrix', 'portable']);
    expect(gemmLauncher.tiers('f16', all, intel)).toEqual(['portable']);
    expect(gemmLauncher.tiers('bf16', all, nvidia)).toEqual(['subgroup-matrix', 'portable']);
    expect(gemmLauncher.tiers('bf16', all, apple)).toEqual(['portable']);
    expect(gemmLauncher.tiers('f16', all, { subgroupMatrixConfigs: [], limits })).toEqual(['portable']);
  });

  it('vector reads only where bases and contiguous dimensions are multiples of the width', () => {
    expect(vecAligned(8, 4096, 4096, 4096, false, false, 0, 0)).toBe(true);
    expect(vecAligned(8, 4096, 4100, 4096, false, false, 0, 0)).toBe(false); // b rows of N=4100
    expect(vecAligned(8, 4100, 4096, 4096, false, true, 0, 0)).toBe(true); // M is no row length
    expect(vecAligned(8, 4100, 4096, 4096, true, true, 0, 0)).toBe(false); // a stored [K, M]
    expect(vecAligned(4, 64, 64, 64, false, false, 2, 0)).toBe(false); // a window's base
  });

  it('the subgroup-matrix kernel preprocesses for every variant the launcher can request', () => {
    for (const sg of [32, 64, 16]) {
      for (const s of sgmatSpecs(sg)) {
        const { code } = shaderSource(s);
        expect(code).toContain('subgroupMatrixMultiplyAccumulate');
        expect(code).not.toMatch(/^\s*#/m);
        expect(code).not.toMatch(/\b(A_LAYOUT|B_LAYOUT|NAME)\b/);
      }
    }
  });

  it('the subgroup-matrix Params struct matches the launcher (wgsl_reflect cannot parse the extension)', () => {
    const code = shaderSource(sgmatSpecs(32)[0]).code;
    const body = /struct Params \{([^}]*)\}/.exec(code)![1];
    const fields = [...body.matchAll(/^\s*(\w+):\s*(\w+),/gm)].map((m) => [m[1], m[2]]);
    expect(fields).toEqual(GEMM_PARAMS.map(([n, t]) => [n, t]));
  });

  describe("compiled by Dawn's null backend (which offers subgroup matrices)", () => {
    let nul: OpenedDevice | undefined;
    beforeAll(async () => {
      try {
        nul = await openDevice({ dawnBackend: 'null', toggles: ['allow_unsafe_apis'] });
      } catch {
        nul = undefined;
      }
    });
    afterAll(() => nul?.device.destroy());

    it('every subgroup-matrix variant compiles', async (t) => {
      if (!nul?.features.has('chromium-experimental-subgroup-matrix') || !nul.features.has('shader-f16')) return t.skip();
      expect(await compileAll(nul.device, sgmatSpecs(32), true)).toEqual([]);
    });
    it('every f32 8×8×8 (gemm_sgmat8, Apple) variant compiles', async (t) => {
      if (!nul?.features.has('chromium-experimental-subgroup-matrix') || !nul.features.has('shader-f16')) return t.skip();
      expect(await compileAll(nul.device, sgmat8Specs(), true)).toEqual([]);
    });
    it('every aligned subgroup-matrix (gemm_sgmat_vec) variant compiles', async (t) => {
      if (!nul?.features.has('chromium-experimental-subgroup-matrix') || !nul.features.has('shader-f16')) return t.skip();
      expect(await compileAll(nul.device, sgmatVecSpecs(), true)).toEqual([]);
    });
    it('every tiled and small-M (gemv) variant compiles', async (t) => {
      if (!nul) return t.skip();
      expect(await compileAll(nul.device, [...tiledSpecs(), ...gemvSpecs()], false)).toEqual([]);
    });
  });

  describe('on the default adapter', () => {
    const gpu = useWebGpu();

    it('the subgroup-matrix kernel compiles and links where the adapter offers it', async (t) => {
      const f = gpu().rt.opened.features;
      if (!f.has('chromium-experimental-subgroup-matrix') || !f.has('shader-f16')) return t.skip();
      const sg = (gpu().rt.opened.adapter.info as unknown as { subgroupMaxSize?: number }).subgroupMaxSize ?? 32;
      expect(await compileAll(gpu().rt.device, sgmatSpecs(sg), true)).toEqual([]);
    });

    it('invalid inputs are typed errors and the device stays usable', async () => {
      await expectInvalid(gpu());
      const a = gpu().tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
      const { y } = gpu().gemm({ a, b: a });
      expect([...(await gpu().read(y))]).toEqual([7, 10, 15, 22]);
    });
  });

  it('invalid inputs are typed errors on the cpu backend', async () => {
    await expectInvalid(new CpuBackend());
  });
});

async function expectInvalid(be: KernelBackend): Promise<void> {
  const f32 = (shape: number[]) => be.zeros(shape, 'f32');
  const f16 = (shape: number[]) => be.zeros(shape, 'f16');
  // Mismatched K.
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([5, 2]) })).toThrow(ShapeError);
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([2, 5]) }, { transB: true })).toThrow(ShapeError);
  expect(() => be.gemm({ a: f32([4, 3]), b: f32([3, 2]) }, { transA: true })).toThrow(/\[gemm\] b: expected the reduction length K=4/);
  // Batches that neither match nor broadcast; wrong ranks.
  expect(() => be.gemm({ a: f32([2, 3, 4]), b: f32([3, 4, 2]) })).toThrow(ShapeError);
  expect(() => be.gemm({ a: f32([4]), b: f32([4, 2]) })).toThrow(ShapeError);
  // Dtypes: b unlike a; bias and c not of the output dtype.
  expect(() => be.gemm({ a: f32([3, 4]), b: f16([4, 2]) })).toThrow(DTypeError);
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([4, 2]), bias: f16([2]) })).toThrow(DTypeError);
  expect(() => be.gemm({ a: f16([3, 4]), b: f16([4, 2]), bias: f16([2]) }, { outDtype: 'f32' })).toThrow(/\[gemm\] bias: expected f32\[2\], got f16\[2\]/);
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([4, 2]), bias: f32([3]) })).toThrow(ShapeError);
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([4, 2]), c: f32([2, 3]) }, { beta: 1 })).toThrow(ShapeError);
  // beta and c go together.
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([4, 2]) }, { beta: 1 })).toThrow(/\[gemm\] c: required when beta/);
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([4, 2]), c: f32([3, 2]) })).toThrow(OptionsError);
  // Bad options.
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([4, 2]) }, { transA: 'yes' } as never)).toThrow(OptionsError);
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([4, 2]) }, { alpha: Infinity })).toThrow(OptionsError);
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([4, 2]) }, { outDtype: 'i32' } as never)).toThrow(OptionsError);
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([4, 2]) }, { trans: true } as never)).toThrow(OptionsError);
  // Missing operand, foreign input.
  expect(() => be.gemm({ a: f32([3, 4]) } as never)).toThrow(ShapeError);
  expect(() => be.gemm({ a: f32([3, 4]), b: f32([4, 2]), d: f32([1]) } as never)).toThrow(ShapeError);
  await be.sync();
}
