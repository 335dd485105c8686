// flash_attention_backward's 'subgroup-matrix' tier (wgsl/attention/fa_bwd_dq_sgmat.wgsl,
// fa_bwd_dkv_sgmat.wgsl): where it is offered, its tile plans, and that its launches build and
// validate in Dawn — on the null backend, which runs nothing (the numbers are checked on the
// H100: `pmetal conformance --op flash_attention_backward --tier subgroup-matrix --quick
// --toggles allow_unsafe_apis,vulkan_enable_f16_on_nvidia`).
import { describe, expect, it } from 'vitest';
import type { AdapterTraits, LaunchContext } from '../../src/backend/webgpu/launch.js';
import { flashAttentionBackwardLauncher } from '../../src/backend/webgpu/launchers/flash_attention_backward.js';
import { bwdSgDkvBytes, bwdSgDkvPipeline, bwdSgDqBytes, bwdSgDqPipeline, bwdSgmatPlan } from '../../src/backend/webgpu/launchers/flash_attention_backward_sgmat.js';
import { shaderSource } from '../../src/backend/webgpu/pipelines.js';
import { problemOptions, type AttnProblem } from '../../src/ops/flash_attention_forward/cases.js';
import { getSpec } from '../../src/ops/registry.js';
import { backwardInputs } from '../../src/ops/flash_attention_backward/cases.js';
import type { Tensor } from '../../src/tensor.js';
import { useDawnNull } from '../webgpu_backends.js';

const FEATURES = new Set(['chromium-experimental-subgroup-matrix', 'shader-f16', 'subgroups']);
const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({ componentType, resultComponentType, M, N, K });
const NVIDIA: AdapterTraits = { subgroupMatrixConfigs: [cfg('f16', 'f32', 16, 16, 16)], subgroupMinSize: 32, subgroupMaxSize: 32, limits: {} as GPUSupportedLimits };

const nullGpu = useDawnNull();

describe('flash_attention_backward: the subgroup-matrix tier', () => {
  it('offered for f16 on an NVIDIA-like adapter, never for bf16/f32 or without matrices', () => {
    expect(flashAttentionBackwardLauncher.tiers('f16', FEATURES as Set<string>, NVIDIA)).toEqual(['subgroup-matrix', 'portable']);
    expect(flashAttentionBackwardLauncher.tiers('bf16', FEATURES as Set<string>, NVIDIA)).toEqual(['portable']);
    expect(flashAttentionBackwardLauncher.tiers('f16', new Set(['shader-f16', 'subgroups']) as Set<string>, NVIDIA)).toEqual(['portable']);
  });

  const dims: [number, number][] = [[64, 64], [80, 80], [128, 128], [192, 128], [256, 256], [16, 32]];
  it.each([16384, 49152])('plans fit %i bytes', (storage) => {
    for (const [d, dv] of dims) {
      const dq = bwdSgmatPlan((p) => bwdSgDqBytes(d, dv, p), storage, 256);
      const dkv = bwdSgmatPlan((p) => bwdSgDkvBytes(d, dv, p), storage, 256);
      if (storage === 49152 || Math.max(d, dv) <= 64) {
        expect(dq && dkv, `${d}/${dv}`).toBeTruthy();
        expect(bwdSgDqBytes(d, dv, dq!)).toBeLessThanOrEqual(storage);
        expect(bwdSgDkvBytes(d, dv, dkv!)).toBeLessThanOrEqual(storage);
      }
    }
    if (storage === 49152) expect(bwdSgmatPlan((p) => bwdSgDqBytes(128, 128, p), storage, 256)).toEqual({ nsg: 8, bt: 16 });
    expect(bwdSgmatPlan((p) => bwdSgDqBytes(64, 64, p), storage, 128)).toEqual({ nsg: 4, bt: 16 });
    // Occupancy: 8 subgroups unless that leaves fewer than 264 workgroups (a 1B training
    // step's dk/dv: 8 kv heads × 128 16-key units → 128 workgroups at 8, 256 at 4) or the
    // head dim is ≤ 64 (4 measured faster there on the H100, run S17).
    if (storage === 49152) {
      expect(bwdSgmatPlan((p) => bwdSgDkvBytes(128, 128, p), storage, 256, 8 * 128)).toEqual({ nsg: 4, bt: 16 });
      expect(bwdSgmatPlan((p) => bwdSgDkvBytes(128, 128, p), storage, 256, 4 * 8 * 256)).toEqual({ nsg: 8, bt: 16 });
      expect(bwdSgmatPlan((p) => bwdSgDkvBytes(64, 64, p), storage, 256, 4 * 8 * 256, 64)).toEqual({ nsg: 4, bt: 16 });
      expect(bwdSgmatPlan((p) => bwdSgDkvBytes(128, 128, p), storage, 256, 4 * 8 * 256, 128)).toEqual({ nsg: 8, bt: 16 });
    }
    // Past what the adapter offers: undefined (the portable kernels run).
    if (storage === 16384) expect(bwdSgmatPlan((p) => bwdSgDqBytes(256, 256, p), storage, 256)).toBeUndefined();
  });

  it.each(dims)('D = %i, Dv = %i: the dq, dk and dv pipelines compile on the null backend, unpadded and with padded stages', async (d, dv) => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    const dev = nullGpu()!.rt.device;
    for (const pad of [0, 8]) {
      const dq = bwdSgmatPlan((p) => bwdSgDqBytes(d, dv, p), 49152, 256, Infinity, 128, pad)!;
      const dkv = bwdSgmatPlan((p) => bwdSgDkvBytes(d, dv, p), 49152, 256, Infinity, 128, pad)!;
      for (const plan of [dq, dkv]) expect(plan.pad ?? 0, `${d}/${dv} pad ${pad}`).toBe(pad);
      for (const spec of [bwdSgDqPipeline(d, dv, dq), bwdSgDkvPipeline(d, dv, dkv, false), bwdSgDkvPipeline(d, dv, dkv, true)]) {
        expect(spec.defines?.SPAD).toBe(pad);
        const src = shaderSource(spec);
        dev.pushErrorScope('validation');
        const info = await dev.createShaderModule({ code: src.code }).getCompilationInfo();
        const err = await dev.popErrorScope();
        expect(info.messages.filter((m) => m.type === 'error').map((m) => `${spec.shader} ${src.lineMap[m.lineNum - 1]?.file}:${src.lineMap[m.lineNum - 1]?.line}: ${m.message}`)).toEqual([]);
        expect(err).toBeNull();
      }
    }
  });

  it('padded stages fall back to unpadded ones where they do not fit', () => {
    // 16 KiB, D = 64: no padded dq tile fits; the unpadded plan of the same call does.
    const un = bwdSgmatPlan((p) => bwdSgDqBytes(64, 64, p), 16384, 256, Infinity, 64, 0);
    const padded = bwdSgmatPlan((p) => bwdSgDqBytes(64, 64, p), 16384, 256, Infinity, 64, 8);
    expect(un).toBeDefined();
    expect(bwdSgDqBytes(64, 64, { ...un!, pad: 8 })).toBeGreaterThan(16384);
    expect(padded).toEqual(un);
  });

  // Launches on the null backend: pipelines and bind groups validate (a bad layout is an error at submission).
  it.each([
    ['GQA, causal, ragged', { b: 2, sq: 37, sk: 45, hq: 4, hkv: 2, d: 64, causal: true }, true],
    ["'bhsd', Dv ≠ D, sinks, softcap, window", { b: 1, sq: 20, sk: 33, hq: 2, hkv: 1, d: 64, dv: 32, layout: 'bhsd', sinks: true, softcap: 30, window: { left: 7, right: 2 } }, true],
    ['varlen with an empty sequence', { sq: 0, sk: 0, seqQ: [5, 0, 9], seqK: [7, 3, 12], padQ: 2, hq: 2, hkv: 2, d: 32 }, true],
    ['D = 24: the portable kernels on this tier', { b: 1, sq: 9, sk: 9, hq: 2, hkv: 1, d: 24 }, false],
  ] as [string, AttnProblem, boolean][])('%s', async (_l, p, sgmat) => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    const be = nullGpu()!;
    const spec = getSpec('flash_attention_backward');
    const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits: be.rt.opened.limits, adapter: { ...NVIDIA, limits: be.rt.opened.limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
    const h = backwardInputs(p, 'f16', 3);
    const ins: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(h)) ins[k] = be.tensor(t.data, t.shape, t.dtype);
    const o = spec.options.parse(problemOptions(p));
    const outs = spec.check(ins, o) as Record<string, { dtype: 'f32'; shape: number[] }>;
    be.rt.trace = [];
    const res = flashAttentionBackwardLauncher.launch(ctx, 'subgroup-matrix', ins, o, outs);
    const shaders = new Set(be.rt.trace.map((d) => d.pipeline.shader));
    expect(shaders.has('attention/fa_bwd_dq_sgmat.wgsl')).toBe(sgmat);
    expect(shaders.has('attention/fa_bwd_dkv_sgmat.wgsl')).toBe(sgmat);
    be.rt.trace = undefined;
    await be.sync();
    for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
  });
});
