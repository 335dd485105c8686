// flash_attention_forward's 'subgroup-matrix' tier (wgsl/attention/fa_forward_sgmat.wgsl):
// which adapters it is offered on, that lavapipe (no subgroup matrices) falls back cleanly,
// and that its launches validate in Dawn — on the null backend, which compiles and checks
// pipelines and bind groups but runs nothing (its numbers are checked on the H100:
// `pmetal conformance --op flash_attention_forward --tier subgroup-matrix --quick --toggles
// allow_unsafe_apis,vulkan_enable_f16_on_nvidia`).
import { describe, expect, it } from 'vitest';
import type { AdapterTraits, LaunchContext } from '../../src/backend/webgpu/launch.js';
import { FA_SGMAT, flashAttentionForwardLauncher } from '../../src/backend/webgpu/launchers/flash_attention.js';
import { faSgmatPad, faSgmatPipeline, sgmatBytes, sgmatPlan } from '../../src/backend/webgpu/launchers/flash_attention_sgmat.js';
import { shaderSource } from '../../src/backend/webgpu/pipelines.js';
import { TierUnavailableError } from '../../src/errors.js';
import { problemInputs, problemOptions, type AttnProblem } from '../../src/ops/flash_attention_forward/cases.js';
import { getSpec } from '../../src/ops/registry.js';
import type { Tensor } from '../../src/tensor.js';
import { useWebGpu, useDawnNull } from '../webgpu_backends.js';

const spec = getSpec('flash_attention_forward');
const FEATURES = new Set(['chromium-experimental-subgroup-matrix', 'shader-f16', 'subgroups']);
const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({ componentType, resultComponentType, M, N, K });
const limits = {} as GPUSupportedLimits;
const NVIDIA: AdapterTraits = { subgroupMatrixConfigs: [cfg('f16', 'f32', 16, 16, 16), cfg('f16', 'f32', 16, 8, 16), cfg('i8', 'i32', 16, 16, 32)], subgroupMinSize: 32, subgroupMaxSize: 32, limits };

const gpu = useWebGpu();
const nullGpu = useDawnNull();

describe('flash_attention_forward: where the subgroup-matrix tier is offered', () => {
  it('by default; PMETAL_FA_SGMAT=0 (enabled = false) leaves it out', () => {
    expect(FA_SGMAT.enabled).toBe(true);
    FA_SGMAT.enabled = false;
    expect(flashAttentionForwardLauncher.tiers('f16', FEATURES as Set<string>, NVIDIA as AdapterTraits)).not.toContain('subgroup-matrix');
    FA_SGMAT.enabled = true;
  });
  it.each([
    ['f16 on an NVIDIA-like adapter', 'f16', FEATURES, NVIDIA, true],
    ['bf16 (no f32-accumulating bf16 configuration: SIMT tiers)', 'bf16', FEATURES, NVIDIA, false],
    ['f32', 'f32', FEATURES, NVIDIA, false],
    ['subgroups of 8 to 32 (lanes are not rows)', 'f16', FEATURES, { ...NVIDIA, subgroupMinSize: 8 }, false],
    ['only f16→f16 matrices (f16 accumulation)', 'f16', FEATURES, { ...NVIDIA, subgroupMatrixConfigs: [cfg('f16', 'f16', 8, 8, 8)] }, false],
    ['no shader-f16', 'f16', new Set(['chromium-experimental-subgroup-matrix', 'subgroups']), NVIDIA, false],
    ['no adapter traits', 'f16', FEATURES, undefined, false],
  ] as const)('%s', (_l, dtype, features, adapter, offered) => {
    const tiers = flashAttentionForwardLauncher.tiers(dtype, features as Set<string>, adapter as AdapterTraits | undefined);
    expect(tiers[0] === 'subgroup-matrix').toBe(offered);
    expect(tiers).toContain('subgroups');
  });

  it('lavapipe (no subgroup matrices): not advertised, a forced call is a typed error, routing takes the SIMT tiers', () => {
    const caps = gpu().capabilities().ops.flash_attention_forward.map((t) => t.tier);
    expect(caps).not.toContain('subgroup-matrix');
    const h = problemInputs({ b: 1, sq: 4, sk: 4, hq: 2, hkv: 1, d: 16 }, 'f16', 1);
    const ins: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(h)) ins[k] = gpu().tensor(t.data, t.shape, t.dtype);
    expect(() => gpu().flashAttentionForward(ins as never, {}, { tier: 'subgroup-matrix' })).toThrow(TierUnavailableError);
    expect(gpu().route('flash_attention_forward', ins)).toBe(caps[0]);
    for (const t of Object.values(ins)) t.dispose();
  });
});

describe('flash_attention_forward subgroup-matrix launches validate in Dawn (null backend)', () => {
  // Each problem: its launch's pipelines (sgmat for head dims that are multiples of 16, the
  // subgroups SIMT kernel otherwise) and no validation error at submission.
  it.each([
    ['GQA, causal, ragged', { b: 2, sq: 37, sk: 45, hq: 4, hkv: 2, d: 64, causal: true }, ['attention/fa_forward_sgmat.wgsl']],
    ["'bhsd', Dv ≠ D, sinks, softcap, window", { b: 1, sq: 20, sk: 33, hq: 2, hkv: 1, d: 128, dv: 64, layout: 'bhsd', sinks: true, softcap: 30, window: { left: 7, right: 2 } }, ['attention/fa_forward_sgmat.wgsl']],
    ['D = 256', { b: 1, sq: 16, sk: 16, hq: 1, hkv: 1, d: 256 }, ['attention/fa_forward_sgmat.wgsl']],
    ['varlen with an empty sequence', { sq: 0, sk: 0, seqQ: [5, 0, 9], seqK: [7, 3, 12], padQ: 2, hq: 2, hkv: 2, d: 32 }, ['attention/fa_forward_sgmat.wgsl']],
    ['D = 24 (not whole fragments): the subgroups kernel on this tier', { b: 1, sq: 9, sk: 9, hq: 2, hkv: 1, d: 24 }, ['attention/fa_forward.wgsl']],
  ] as [string, AttnProblem, string[]][])('%s', async (_l, p, shaders) => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    const be = nullGpu()!;
    const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits: be.rt.opened.limits, adapter: { ...NVIDIA, limits: be.rt.opened.limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
    const h = problemInputs(p, 'f16', 2);
    const ins: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(h)) ins[k] = be.tensor(t.data, t.shape, t.dtype);
    const o = spec.options.parse(problemOptions(p));
    const outs = spec.check(ins, o) as Record<string, { dtype: 'f32'; shape: number[] }>;
    be.rt.trace = [];
    const res = flashAttentionForwardLauncher.launch(ctx, 'subgroup-matrix', ins, o, outs);
    expect([...new Set(be.rt.trace.map((d) => d.pipeline.shader))]).toEqual(shaders);
    be.rt.trace = undefined;
    await be.sync();
    for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
  });
});

describe('fa_forward_sgmat.wgsl: the tile plan and every head-dim pipeline', () => {
  const dims: [number, number][] = [[64, 64], [80, 80], [96, 96], [128, 128], [192, 128], [192, 192], [256, 256], [16, 32]];
  it.each([16384, 49152])('plans fit %i bytes of workgroup memory, the largest tile first', (storage) => {
    for (const [d, dv] of dims) {
      const plan = sgmatPlan(d, dv, storage, 256)!;
      expect(plan, `${d}/${dv}`).toBeDefined();
      expect(plan.bytes).toBe(sgmatBytes(d, dv, plan.nsg, plan.bk, plan.kvShared));
      expect(plan.bytes).toBeLessThanOrEqual(storage);
    }
    // 48 KiB: 8 subgroups at D = 128 with 32-key tiles, K and V apart.
    if (storage === 49152) expect(sgmatPlan(128, 128, storage, 256)).toMatchObject({ nsg: 8, bk: 32, kvShared: false });
    // 4 subgroups when 256 invocations are not allowed.
    expect(sgmatPlan(64, 64, storage, 128)!.nsg).toBe(4);
  });
  it.each([16384, 49152])('padded stages (PMETAL_FA_SGMAT_PAD=8) fit %i bytes too, the same tile at the 1B prefill\'s D = 64 on 48 KiB', (storage) => {
    for (const [d, dv] of dims) {
      const plan = sgmatPlan(d, dv, storage, 256, 8)!;
      expect(plan, `${d}/${dv}`).toBeDefined();
      // D = 256 at 16 KiB: no padded tile fits, the unpadded one runs.
      expect(plan.pad).toBe(storage === 16384 && d === 256 ? 0 : 8);
      expect(plan.bytes).toBe(sgmatBytes(d, dv, plan.nsg, plan.bk, plan.kvShared, plan.pad));
      expect(plan.bytes).toBeLessThanOrEqual(storage);
    }
    if (storage === 49152) expect(sgmatPlan(64, 64, storage, 256, 8)).toMatchObject({ nsg: 8, bk: 32, kvShared: false, pad: 8 });
  });
  it('PMETAL_FA_SGMAT_PAD takes 0 or 8; anything else is an OptionsError naming it', () => {
    try {
      process.env.PMETAL_FA_SGMAT_PAD = '8';
      expect(faSgmatPad()).toBe(8);
      expect(faSgmatPipeline(64, 64, sgmatPlan(64, 64, 49152, 256)!).defines?.SPAD).toBe(8);
      process.env.PMETAL_FA_SGMAT_PAD = '4';
      expect(() => faSgmatPad()).toThrow(/^\[flash_attention\] PMETAL_FA_SGMAT_PAD: expected 0 or 8, got '4'$/);
    } finally {
      delete process.env.PMETAL_FA_SGMAT_PAD;
    }
    expect(faSgmatPad()).toBe(0);
  });
  it('nothing fits a tiny limit: undefined (the SIMT kernel runs)', () => {
    expect(sgmatPlan(256, 256, 4096, 256)).toBeUndefined();
  });
  it.each(dims)('D = %i, Dv = %i compiles on the null backend at 16 and 48 KiB, with and without PREFETCH and padded stages', async (d, dv) => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    const dev = nullGpu()!.rt.device;
    for (const [storage, prefetch, pad] of [[16384, false, 0], [49152, false, 0], [16384, true, 0], [49152, true, 0], [49152, true, 8], [16384, false, 8]] as const) {
      const plan = sgmatPlan(d, dv, storage, 256, pad)!;
      const spec = faSgmatPipeline(d, dv, plan, prefetch);
      expect(!!spec.defines?.PREFETCH).toBe(prefetch && !plan.kvShared);
      const src = shaderSource(spec);
      dev.pushErrorScope('validation');
      const mod = dev.createShaderModule({ code: src.code });
      const info = await mod.getCompilationInfo();
      const err = await dev.popErrorScope();
      expect(info.messages.filter((m) => m.type === 'error').map((m) => `${JSON.stringify(spec.defines)} ${src.lineMap[m.lineNum - 1]?.file}:${src.lineMap[m.lineNum - 1]?.line}: ${m.message}`)).toEqual([]);
      expect(err).toBeNull();
    }
  });
});
