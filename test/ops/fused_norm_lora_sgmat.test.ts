// fused_norm_lora / fused_norm_lora_backward on webgpu's 'subgroup-matrix' tier: which
// adapters offer it, that every NORM_A / NORM_B pipeline of gemm_sgmat_vec compiles, that
// the launch plan puts the normalised products on gemm_sgmat_vec (the unaligned ones on
// gemm_tiled) and validates in Dawn — on the null backend, which compiles and checks
// pipelines and bind groups but runs nothing (lavapipe has no subgroup matrices; the numbers
// are checked on the H100: `pmetal conformance --quick --op fused_norm_lora,fused_norm_lora_backward
// --backend webgpu --tier subgroup-matrix --toggles allow_unsafe_apis,vulkan_enable_f16_on_nvidia`)
// — and that the bound counts n's rounding to f16 for the matrix units.
import { describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { LaunchContext } from '../../src/backend/webgpu/launch.js';
import { gemmPipeline, sgmatVecWorkgroupBytes, type GemmVariant } from '../../src/backend/webgpu/launchers/gemm.js';
import { fusedNormLoraBackwardLauncher, fusedNormLoraLauncher } from '../../src/backend/webgpu/launchers/fused_norm_lora.js';
import type { PipelineSpec } from '../../src/backend/webgpu/pipelines.js';
import { unitRoundoff } from '../../src/dtype.js';
import { normOperandError } from '../../src/ops/fused_norm_lora/reference.js';
import { getSpec } from '../../src/ops/registry.js';
import type { Tensor } from '../../src/tensor.js';
import type { Dispatch } from '../../src/backend/webgpu/runtime.js';
import { U32 } from '../../src/ops/tolerance.js';
import { NVIDIA, compileErrors, recordPlan } from './null_plan.js';
import { useWebGpu, useDawnNull } from '../webgpu_backends.js';

const FEATURES = new Set(['chromium-experimental-subgroup-matrix', 'shader-f16', 'subgroups']);

const gpu = useWebGpu();
const nullGpu = useDawnNull();

describe('fused_norm_lora: where the subgroup-matrix tier is offered', () => {
  it.each([
    ['f16 on an NVIDIA-like adapter', 'f16', FEATURES, NVIDIA, ['subgroup-matrix', 'subgroups', 'portable']],
    ['bf16', 'bf16', FEATURES, NVIDIA, ['subgroups', 'portable']],
    ['f32', 'f32', FEATURES, NVIDIA, ['subgroups', 'portable']],
    ['no subgroup matrices', 'f16', new Set(['shader-f16', 'subgroups']), NVIDIA, ['subgroups', 'portable']],
  ] as const)('%s', (_l, dtype, features, adapter, tiers) => {
    for (const l of [fusedNormLoraLauncher, fusedNormLoraBackwardLauncher]) expect(l.tiers(dtype, features as Set<string>, adapter)).toEqual(tiers);
  });
  it('lavapipe: not advertised', () => {
    for (const op of ['fused_norm_lora', 'fused_norm_lora_backward'] as const) expect(gpu().capabilities().ops[op].map((t) => t.tier)).not.toContain('subgroup-matrix');
  });
});

/** gemm_sgmat_vec with the norm switch on the operand the launcher normalises untransposed, in every shape it is launched with. */
function normSpecs(): PipelineSpec[] {
  const out: PipelineSpec[] = [];
  const modes = [{}, { dbuf: true, shallowK: true }, { shallowK: true }];
  for (const which of ['a', 'b'] as const)
    for (const other of [false, true])
      for (const [yDtype, hasC, hasBias, splitK] of [['f32', false, false, true], ['f32', true, false, false], ['f16', true, true, false], ['f16', false, false, false]] as const)
        for (const wideN of [false, true])
          for (const mode of modes) {
            const v: GemmVariant = { yDtype, transA: which === 'a' ? false : other, transB: which === 'b' ? false : other, hasC, hasBias, splitK };
            const p = gemmPipeline('subgroup-matrix', 'f16', v, { kernel: 'sgmat_vec', wideN, ...mode });
            out.push({ ...p, defines: { ...p.defines, NORM_A: which === 'a', NORM_B: which === 'b' } });
          }
  return out;
}

describe('gemm_sgmat_vec with NORM_A / NORM_B (null backend)', () => {
  // Pipelines too where the device's workgroup memory fits the variant (the null adapter's
  // 16 KiB holds none of them: their modules are compiled and checked).
  it('every variant compiles (a pipeline where its workgroup memory fits)', async () => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    const fits = (s: PipelineSpec, storage: number) => sgmatVecWorkgroupBytes(!!s.defines!.WIDE_N, !!s.defines!.TRANS_A, !!s.defines!.TRANS_B, !!s.defines!.DBUF, !!s.defines!.SHALLOW_K) <= storage;
    expect(await compileErrors(nullGpu()!, normSpecs(), fits)).toEqual([]);
  });
});

/** f16 inputs (zeros: the null backend runs nothing) of a T×K → N problem of rank r. */
function inputs(be: WebGpuBackend, t: number, k: number, n: number, r: number, backward: boolean): Record<string, Tensor> {
  const h = (shape: number[], dtype: 'f16' | 'f32' = 'f16') => be.zeros(shape, dtype);
  const fwd = { x: h([t, k]), gamma: h([k]), weight: h([n, k]), loraA: h([r, k]), loraB: h([n, r]) };
  return backward ? { ...fwd, dy: h([t, n]), rstd: h([t], 'f32'), xa: h([t, r], 'f32') } : { ...fwd, bias: h([n]) };
}

/** A dispatch as the plan tests see it: kernel file and the switches that matter here. */
const label = (d: Dispatch) =>
  `${d.pipeline.shader.slice(5)}${d.pipeline.defines?.NORM_A ? ' NORM_A' : ''}${d.pipeline.defines?.NORM_B ? ' NORM_B' : ''}${d.pipeline.defines?.SPLIT_K ? ' SPLIT_K' : ''}`;

/**
 * Runs a launcher on the null backend's buffers with `storage` bytes of workgroup memory
 * assumed (the null adapter offers 16 KiB; gemm_sgmat_vec needs 28–48), recording its
 * dispatches instead of encoding them (a pipeline over the device's limit cannot be built
 * there): the launch plan as it would be on an H100.
 */
function plan(t: number, k: number, n: number, r: number, backward: boolean, opts: Record<string, unknown>, extra: (be: WebGpuBackend) => Record<string, Tensor> = () => ({}), storage = 49152): Dispatch[] {
  expect(nullGpu(), "Dawn's null backend").toBeDefined();
  const be = nullGpu()!;
  return recordPlan(be, storage, (ctx) => {
    const ins = { ...inputs(be, t, k, n, r, backward), ...extra(be) };
    const spec = getSpec(backward ? 'fused_norm_lora_backward' : 'fused_norm_lora');
    const o = spec.options.parse(opts);
    const outs = spec.check(ins, o) as Record<string, { dtype: 'f32'; shape: number[] }>;
    const res = (backward ? fusedNormLoraBackwardLauncher : fusedNormLoraLauncher).launch(ctx, 'subgroup-matrix', ins, o, outs);
    for (const x of [...Object.values(ins), ...Object.values(res)]) x.dispose();
  });
}

const gemms = (ds: Dispatch[]) => ds.filter((d) => d.pipeline.shader.startsWith('gemm/')).map(label);

describe('fused_norm_lora on the subgroup-matrix tier: the launch plan with 48 KiB of workgroup memory (an H100)', () => {
  it('forward, aligned: both normalised products and t on gemm_sgmat_vec; the T×r product over a long K split', () => {
    // xa = drop(n)·Aᵀ (2 output tiles over K = 1024: split), t = s·xa'·Bᵀ, y = n·Wᵀ + t (2 tiles: split).
    const ds = plan(256, 1024, 256, 16, false, { dropout: 0.1, seed: 3 });
    expect(gemms(ds)).toEqual(['gemm_sgmat_vec.wgsl NORM_A SPLIT_K', 'gemm_splitk_reduce.wgsl', 'gemm_sgmat_vec.wgsl', 'gemm_sgmat_vec.wgsl NORM_A SPLIT_K', 'gemm_splitk_reduce.wgsl']);
    // The dropout threshold reaches xa's product only (NormParams: rs_base, g_base, thr, seed_mix).
    const norms = ds.filter((d) => d.pipeline.defines?.NORM_A);
    expect(norms.map((d) => d.workgroups)).toEqual([[1, 2, 4], [1, 2, 4]]);
    expect(ds[0].pipeline.shader).toBe('norm/rms_norm.wgsl');
  });
  it('forward, many output tiles over a short K: one dispatch per product, 128×256 tiles', () => {
    const ds = plan(512, 256, 1024, 16, false, {});
    expect(gemms(ds)).toEqual(['gemm_sgmat_vec.wgsl NORM_A', 'gemm_sgmat_vec.wgsl', 'gemm_sgmat_vec.wgsl NORM_A']);
    expect(ds.filter((d) => d.pipeline.defines?.NORM_A).map((d) => [d.pipeline.defines?.WIDE_N, d.workgroups])).toEqual([
      [true, [1, 4, 1]],
      [true, [4, 4, 1]],
    ]);
  });
  it('forward, K not a multiple of 8 (rows not whole 16-byte words): the normalised products on gemm_tiled', () => {
    expect(gemms(plan(64, 60, 64, 16, false, { dropout: 0.2 })).filter((p) => p.includes('NORM'))).toEqual(['gemm_tiled.wgsl NORM_A', 'gemm_tiled.wgsl NORM_A']);
  });
  it('forward with 16 KiB of workgroup memory: gemm_sgmat_vec does not fit, the normalised products on gemm_tiled', () => {
    expect(gemms(plan(512, 256, 1024, 16, false, {}, undefined, 16384)).filter((p) => p.includes('NORM'))).toEqual(['gemm_tiled.wgsl NORM_A', 'gemm_tiled.wgsl NORM_A']);
  });
  it("backward: dA = gᵀ·drop(n) on gemm_sgmat_vec with NORM_B (split over T), the other four on gemm's subgroup-matrix tier", () => {
    const g = gemms(plan(1024, 256, 512, 16, true, { dropout: 0.1, seed: 5 }));
    expect(g.filter((p) => p.includes('NORM'))).toEqual(['gemm_sgmat_vec.wgsl NORM_B SPLIT_K']);
    expect(g.filter((p) => p.includes('tiled'))).toEqual([]);
    expect(g.filter((p) => p.startsWith('gemm_sgmat_vec')).length).toBe(5);
  });
  it('the quick conformance cases reach NORM with SPLIT_K (x=[24,512]: the forward; x=[512,64]: the backward), so the H100 quick run covers it', () => {
    expect(gemms(plan(24, 512, 48, 16, false, { dropout: 0.1, seed: 9 })).filter((p) => p.includes('NORM'))).toEqual(['gemm_sgmat_vec.wgsl NORM_A SPLIT_K', 'gemm_sgmat_vec.wgsl NORM_A SPLIT_K']);
    const bwd = (be: WebGpuBackend) => ({ dAIn: be.zeros([8, 64], 'f32'), dBIn: be.zeros([16, 8], 'f32') });
    expect(gemms(plan(512, 64, 16, 8, true, { dropout: 0.2, seed: 13, accumulate: true }, bwd)).filter((p) => p.includes('NORM'))).toEqual(['gemm_sgmat_vec.wgsl NORM_B SPLIT_K']);
  });
  it("backward with accumulate: dA takes dAIn as its c in the split's reduce (f32)", () => {
    const ds = plan(1024, 256, 512, 16, true, { accumulate: true }, (be) => ({ dAIn: be.zeros([16, 256], 'f32'), dBIn: be.zeros([512, 16], 'f32') }));
    const i = ds.findIndex((d) => d.pipeline.defines?.NORM_B);
    expect(ds[i + 1].pipeline).toMatchObject({ shader: 'gemm/gemm_splitk_reduce.wgsl', defines: { HAS_C: true, Y_DT: 0 } });
  });
});

describe('fused_norm_lora on the subgroup-matrix tier validates in Dawn (null backend, its own 16 KiB)', () => {
  it.each([
    ['forward', false, {}],
    ['forward with dropout', false, { dropout: 0.1 }],
    ['backward', true, { dropout: 0.1 }],
  ] as const)('%s', async (_l, backward, opts) => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    const be = nullGpu()!;
    const ins = inputs(be, 256, 512, 256, 16, backward);
    const spec = getSpec(backward ? 'fused_norm_lora_backward' : 'fused_norm_lora');
    const o = spec.options.parse(opts);
    const outs = spec.check(ins, o) as Record<string, { dtype: 'f32'; shape: number[] }>;
    const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits: be.rt.opened.limits, adapter: { ...NVIDIA, limits: be.rt.opened.limits }, buffer: (x) => x.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
    be.rt.trace = [];
    const res = (backward ? fusedNormLoraBackwardLauncher : fusedNormLoraLauncher).launch(ctx, 'subgroup-matrix', ins, o, outs);
    expect(be.rt.trace.some((d) => d.pipeline.defines?.NORM_A || d.pipeline.defines?.NORM_B)).toBe(true);
    be.rt.trace = undefined;
    await be.sync();
    for (const x of [...Object.values(ins), ...Object.values(res)]) x.dispose();
  });
});

describe("fused_norm_lora's bound: n rounded to f16 for the matrix units", () => {
  it('the f16 operand error carries a whole f16 ulp (WGSL rounds to either neighbour), f32 none, bf16 metal\'s round to nearest', () => {
    // rel = (1 + ρ)(1 + u)²(1 + u_n) − 1 with ρ = 0 (the saved rstd).
    const unOf = (d: 'f16' | 'bf16' | 'f32') => (1 + normOperandError(d, 64, false).rel) / (1 + U32) ** 2 - 1;
    expect(unOf('f16')).toBeCloseTo(2 * unitRoundoff('f16'), 12);
    expect(unOf('bf16')).toBeCloseTo(unitRoundoff('bf16'), 12);
    expect(unOf('f32')).toBeCloseTo(0, 15);
  });
});
