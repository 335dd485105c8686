// fused_mlp's norm prologue (normWeight, residual, eps): n = rms_norm(x + residual)·γ feeds the
// MLP, the sum comes back as residualOut and each row's rstd as rstd. On webgpu at decode sizes
// the gate/up GEMV computes n itself (gemm_gemv_norm.wgsl) — the MLP stays 2 dispatches —
// at T ≤ 2 by default (PMETAL_MLP_NORM_VARIANT: small | all | split); elsewhere one rms_norm
// dispatch comes first. Every output is checked against the reference's derived bounds.
import { afterEach, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { mlpNormVariant } from '../../src/backend/webgpu/launchers/mlp_norm.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { AdapterTraits, LaunchContext } from '../../src/backend/webgpu/launch.js';
import { fusedMlpLauncher } from '../../src/backend/webgpu/launchers/fused_mlp.js';
import { getSpec } from '../../src/ops/registry.js';
import type { Tensor } from '../../src/tensor.js';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import type { FloatDType } from '../../src/dtype.js';
import { DTypeError, OptionsError, ShapeError } from '../../src/errors.js';
import { mlpTakesNorm } from '../../src/models/layer.js';
import { mlpForwardInputs, type MlpDef } from '../../src/ops/fused_mlp/cases.js';
import { checkAgainstReference } from './against_reference.js';
import { useWebGpu } from '../webgpu_backends.js';

const gpu = useWebGpu();
afterEach(() => {
  delete process.env.PMETAL_MLP_NORM_VARIANT;
  refreshTuning();
});

const variant = (v: string | undefined) => {
  if (v === undefined) delete process.env.PMETAL_MLP_NORM_VARIANT;
  else process.env.PMETAL_MLP_NORM_VARIANT = v;
  refreshTuning();
};

/** The op on lavapipe: dispatch count and trace, every output checked against the reference. */
async function record(def: MlpDef, dtype: FloatDType, options: Record<string, unknown> = {}) {
  const host = mlpForwardInputs(def, dtype, 5);
  gpu().rt.trace = [];
  const before = gpu().rt.dispatchCount;
  const checked = await checkAgainstReference(gpu(), 'fused_mlp', host, options);
  const dispatches = gpu().rt.dispatchCount - before;
  const trace = gpu().rt.trace!.map((d) => ({ shader: d.pipeline.shader, norm: !!d.pipeline.defines?.NORM, res: !!d.pipeline.defines?.NORM_RES }));
  gpu().rt.trace = undefined;
  return { checked, dispatches, trace };
}

describe('fused_mlp with normWeight on webgpu', () => {
  it.each(['f32', 'f16', 'bf16'] as const)('T = 1, %s, with residual: 2 dispatches (the norm inside the gate/up GEMV), y, residualOut and rstd within the bound', async (dt) => {
    const { checked, dispatches, trace } = await record({ lead: [1], k: 264, i: 37, n: 24, ranks: {}, norm: 'norm+res' }, dt, { eps: 1e-5 });
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(['residualOut', 'rstd', 'y']);
    expect(dispatches).toBe(2);
    expect(trace[0]).toEqual({ shader: 'gemm/gemm_gemv_rows.wgsl', norm: true, res: true });
  });

  it('T = 2, f16, no residual (K one 16-byte word short of the workgroup\'s): 2 dispatches, y and rstd within the bound', async () => {
    const { checked, dispatches, trace } = await record({ lead: [2], k: 2040, i: 21, ranks: {}, norm: 'norm' }, 'f16');
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(['rstd', 'y']);
    expect(dispatches).toBe(2);
    expect(trace[0]).toEqual({ shader: 'gemm/gemm_gemv_rows.wgsl', norm: true, res: false });
  });

  it('T = 3: the default (small) runs rms_norm first (3 dispatches); all puts it in the GEMV (2); both within the bound', async () => {
    const def: MlpDef = { lead: [3], k: 136, i: 45, n: 19, ranks: {}, norm: 'norm+res' };
    const small = await record(def, 'bf16');
    expect(small.checked.bad).toEqual([]);
    expect(small.dispatches).toBe(3);
    expect(small.trace[0].shader).toBe('norm/rms_norm_vec.wgsl');
    expect(small.trace.some((d) => d.norm)).toBe(false);
    variant('all');
    const all = await record(def, 'bf16');
    expect(all.checked.bad).toEqual([]);
    expect(all.dispatches).toBe(2);
    expect(all.trace[0].norm).toBe(true);
  });

  it('T = 16 (four rows a round, four rounds) under all, f16, recompute = false: one GEMV with the norm; g and u too', async () => {
    variant('all');
    const { checked, dispatches, trace } = await record({ lead: [2, 8], k: 200, i: 25, ranks: {}, norm: 'norm+res' }, 'f16', { recompute: false });
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(['gate', 'residualOut', 'rstd', 'up', 'y']);
    // lavapipe's per-stage storage limit takes the 10 bindings; WebGPU's default 8 would not.
    expect(trace.filter((d) => d.norm)).toHaveLength(gpu().rt.opened.limits.maxStorageBuffersPerShaderStage >= 10 ? 1 : 0);
    expect(dispatches).toBe(trace[0].norm ? 2 : 3);
  });

  it('split: T = 1 takes rms_norm first (3 dispatches), within the bound', async () => {
    variant('split');
    const { checked, dispatches, trace } = await record({ lead: [1], k: 264, i: 37, ranks: {}, norm: 'norm+res' }, 'f32');
    expect(checked.bad).toEqual([]);
    expect(dispatches).toBe(3);
    expect(trace.some((d) => d.norm)).toBe(false);
  });

  it('T = 40 (prefill) and gate LoRA: rms_norm first, then the plans without a norm, within the bound', async () => {
    const big = await record({ lead: [40], k: 136, i: 45, ranks: {}, norm: 'norm+res' }, 'f16');
    expect(big.checked.bad).toEqual([]);
    expect(big.trace[0].shader.startsWith('norm/rms_norm')).toBe(true);
    const lora = await record({ lead: [2], k: 64, i: 24, ranks: { gate: 4 }, norm: 'norm' }, 'f32');
    expect(lora.checked.bad).toEqual([]);
    expect(Object.keys(lora.checked.got).sort()).toEqual(['gateXa', 'rstd', 'y']);
    expect(lora.trace[0].shader.startsWith('norm/rms_norm')).toBe(true);
  });

  it('PMETAL_MLP_NORM_VARIANT of another value: a typed error naming it', () => {
    expect(() => mlpNormVariant('fast')).toThrow(OptionsError);
    expect(() => mlpNormVariant('fast')).toThrow(/^\[fused_mlp\] PMETAL_MLP_NORM_VARIANT: expected one of small, all, split, got 'fast'$/);
    expect(mlpNormVariant(undefined)).toBe('small');
  });
});

it('metal (the norm inside gemv_swiglu.metal: test/ops/fused_mlp_metal.test.ts), T = 3, f16, with residual: within the bound', async () => {
  const metal = await MetalBackend.create(process.platform !== 'darwin' ? { chip: 'M5' } : {});
  try {
    const host = mlpForwardInputs({ lead: [3], k: 40, i: 17, ranks: {}, norm: 'norm+res' }, 'f16', 2);
    const checked = await checkAgainstReference(metal, 'fused_mlp', host, {});
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(['residualOut', 'rstd', 'y']);
  } finally {
    metal.dispose();
  }
});

describe('fused_mlp norm input checks', () => {
  const cpu = new CpuBackend();
  const f = (shape: number[]) => cpu.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const h = (shape: number[]) => cpu.tensor(new Uint16Array(shape.reduce((a, b) => a * b, 1)), shape, 'f16');
  const base = () => ({ x: h([3, 8]), wGate: h([6, 8]), wUp: h([6, 8]), wDown: h([8, 6]) });
  it.each([
    ['normWeight of another dtype', () => cpu.fusedMlp({ ...base(), normWeight: f([8]) }), DTypeError, /^\[fused_mlp\] normWeight: expected f16\[8\], got f32\[8\]$/],
    ['normWeight of another length', () => cpu.fusedMlp({ ...base(), normWeight: h([6]) }), ShapeError, /^\[fused_mlp\] normWeight: expected f16\[8\], got f16\[6\]$/],
    ['residual of another shape', () => cpu.fusedMlp({ ...base(), normWeight: h([8]), residual: h([2, 8]) }), ShapeError, /^\[fused_mlp\] residual: expected f16\[3,8\], got f16\[2,8\]$/],
    ['residual without normWeight', () => cpu.fusedMlp({ ...base(), residual: h([3, 8]) }), ShapeError, /^\[fused_mlp\] residual: given without normWeight/],
    ['eps 0', () => cpu.fusedMlp({ ...base(), normWeight: h([8]) }, { eps: 0 }), OptionsError, /^\[fused_mlp\] eps: /],
  ])('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });

  it('PMETAL_MLP_NORM (the model): 0 or 1, anything else a typed error', () => {
    expect(mlpTakesNorm(undefined)).toBe(true);
    expect(mlpTakesNorm('0')).toBe(false);
    expect(() => mlpTakesNorm('no')).toThrow(/^\[model\] PMETAL_MLP_NORM: expected 0 or 1, got 'no'$/);
  });
});

// The subgroup-matrix tier (the H100's; not on lavapipe): the NORM launch built and validated
// on Dawn's null backend (which runs nothing), with WebGPU's default 8 storage bindings.
it('subgroup-matrix tier, T = 1, f16, with residual: one GEMV with the norm and the down GEMV, the launch validates', async () => {
  const be = await WebGpuBackend.create({ dawnBackend: 'null', toggles: ['allow_unsafe_apis'] }).catch(() => undefined);
  expect(be, "Dawn's null backend").toBeDefined();
  try {
    const limits = { ...be!.rt.opened.limits, maxStorageBuffersPerShaderStage: 8 } as GPUSupportedLimits;
    const adapter: AdapterTraits = { subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }] as never, subgroupMinSize: 32, subgroupMaxSize: 32, limits };
    const ctx: LaunchContext = { rt: be!.rt, features: be!.rt.opened.features, limits, adapter, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be!.zeros(info.shape, info.dtype) };
    const ins: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(mlpForwardInputs({ lead: [1], k: 2048, i: 80, ranks: {}, norm: 'norm+res' }, 'f16', 1))) ins[k] = be!.tensor(t.data, t.shape, t.dtype);
    const spec = getSpec('fused_mlp');
    const o = spec.options.parse({ eps: 1e-5 });
    be!.rt.trace = [];
    const res = fusedMlpLauncher.launch(ctx, 'subgroup-matrix', ins, o, spec.check(ins, o) as never);
    const trace = be!.rt.trace;
    be!.rt.trace = undefined;
    expect(trace.map((d) => [d.pipeline.shader, !!d.pipeline.defines?.NORM, d.bindings.length])).toEqual([
      ['gemm/gemm_gemv_rows.wgsl', true, 8],
      ['gemm/gemm_gemv_rows.wgsl', false, 3],
    ]);
    expect(Object.keys(res).sort()).toEqual(['residualOut', 'rstd', 'y']);
    await be!.sync();
    for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
  } finally {
    be?.dispose();
  }
});
