// fused_mlp at decode sizes (M ≤ 16, no LoRA on gate/up): one gemm_gemv_rows SWIGLU_ROWS
// dispatch for g, u and h = silu(g)·u, then the down projection's GEMV — 2 dispatches on
// every webgpu tier (launchers/mlp_gemv.ts), and PMETAL_MLP_GEMV=0 restores the earlier plans.
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterTraits, LaunchContext } from '../../src/backend/webgpu/launch.js';
import type { Dispatch } from '../../src/backend/webgpu/runtime.js';
import { fusedMlpLauncher } from '../../src/backend/webgpu/launchers/fused_mlp.js';
import { gemmLauncher } from '../../src/backend/webgpu/launchers/gemm.js';
import { swigluLauncher } from '../../src/backend/webgpu/launchers/swiglu.js';
import { gemmOptions } from '../../src/ops/gemm/spec.js';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import type { FloatDType } from '../../src/dtype.js';
import { mlpForwardInputs, type MlpDef } from '../../src/ops/fused_mlp/cases.js';
import { getSpec } from '../../src/ops/registry.js';
import type { Tensor } from '../../src/tensor.js';
import { checkAgainstReference } from './against_reference.js';
import { useWebGpu, useDawnNull } from '../webgpu_backends.js';

const gpu = useWebGpu();
afterEach(() => {
  delete process.env.PMETAL_MLP_GEMV;
  refreshTuning();
});

const M1: MlpDef = { lead: [1], k: 200, i: 37, ranks: {} };

/** The op on lavapipe: its dispatches (count and trace) and every output checked against the reference's bounds. */
async function record(def: MlpDef, dtype: FloatDType, options: Record<string, unknown>) {
  const host = mlpForwardInputs(def, dtype, 3);
  gpu().rt.trace = [];
  const before = gpu().rt.dispatchCount;
  const checked = await checkAgainstReference(gpu(), 'fused_mlp', host, options);
  const dispatches = gpu().rt.dispatchCount - before;
  const trace = gpu().rt.trace!;
  gpu().rt.trace = undefined;
  return { checked, dispatches, trace };
}

describe('fused_mlp at M ≤ 16 on webgpu', () => {
  it.each([
    ['f32', true],
    ['f16', true],
    ['bf16', false],
    ['f16', false],
  ] as const)('M = 1, %s, recompute %s: exactly 2 dispatches (gate/up GEMV with the SwiGLU epilogue, down GEMV), within the bound', async (dt, recompute) => {
    const { checked, dispatches, trace } = await record(M1, dt, { recompute });
    expect(checked.bad).toEqual([]);
    expect(Object.keys(checked.got).sort()).toEqual(recompute ? ['y'] : ['gate', 'up', 'y']);
    expect(dispatches).toBe(2);
    // The down projection's K = I = 37 is no whole number of words: gemm's column GEMV.
    expect(trace.map((d) => [d.pipeline.shader, !!d.pipeline.defines?.SWIGLU_ROWS, !!d.pipeline.defines?.WRITE_GU])).toEqual([
      ['gemm/gemm_gemv_rows.wgsl', true, !recompute],
      ['gemm/gemm_gemv.wgsl', false, false],
    ]);
    // I/2 workgroups: 2 columns of h each.
    expect(trace[0].workgroups).toEqual([19, 1, 1]);
  });

  it('M = 16 (two row rounds of the reduction), f16, recompute = false: 2 dispatches, g, u and y within the bound', async () => {
    const { checked, dispatches } = await record({ lead: [2, 8], k: 520, i: 75, n: 33, ranks: {} }, 'f16', { recompute: false });
    expect(checked.bad).toEqual([]);
    expect(dispatches).toBe(2);
  });

  it('K not a whole number of 16-byte words (f16, K = 36): the earlier plan, still within the bound', async () => {
    const { checked, trace } = await record({ lead: [1], k: 36, i: 10, ranks: {} }, 'f16', {});
    expect(checked.bad).toEqual([]);
    expect(trace.some((d) => d.pipeline.defines?.SWIGLU_ROWS)).toBe(false);
  });

  it('LoRA on gate keeps the earlier plan; LoRA on down alone takes the GEMV pair', async () => {
    const gate = await record({ lead: [2], k: 64, i: 24, ranks: { gate: 4 } }, 'f32', {});
    expect(gate.checked.bad).toEqual([]);
    expect(gate.trace.some((d) => d.pipeline.defines?.SWIGLU_ROWS)).toBe(false);
    const down = await record({ lead: [2], k: 64, i: 24, ranks: { down: 4 } }, 'f32', {});
    expect(down.checked.bad).toEqual([]);
    expect(down.trace.filter((d) => d.pipeline.defines?.SWIGLU_ROWS)).toHaveLength(1);
  });

  it('PMETAL_MLP_GEMV=0: the earlier plan (recompute = false: two projections and swiglu, 4 dispatches)', async () => {
    process.env.PMETAL_MLP_GEMV = '0';
    refreshTuning();
    const { checked, dispatches, trace } = await record(M1, 'f32', { recompute: false });
    expect(checked.bad).toEqual([]);
    expect(dispatches).toBe(4);
    expect(trace.some((d) => d.pipeline.defines?.SWIGLU_ROWS)).toBe(false);
  });
});

it('T = 64 without LoRA (prefill), f32 on lavapipe: the dispatches of the separate gemm, gemm, swiglu, gemm', async () => {
  const host = mlpForwardInputs({ lead: [64], k: 96, i: 80, ranks: {} }, 'f32', 2);
  const ins: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(host)) ins[k] = gpu().tensor(t.data, t.shape, t.dtype);
  const key = (d: Dispatch) => JSON.stringify([d.pipeline.shader, d.pipeline.defines, d.workgroups]);
  gpu().rt.trace = [];
  const y = gpu().fusedMlp({ x: ins.x, wGate: ins.wGate, wUp: ins.wUp, wDown: ins.wDown }).y;
  const fused = gpu().rt.trace!.map(key);
  gpu().rt.trace = [];
  const g = gpu().gemm({ a: ins.x, b: ins.wGate }, { transB: true }).y;
  const u = gpu().gemm({ a: ins.x, b: ins.wUp }, { transB: true }).y;
  const h = gpu().swiglu({ gate: g, up: u }).y;
  const y2 = gpu().gemm({ a: h, b: ins.wDown }, { transB: true }).y;
  const separate = gpu().rt.trace!.map(key);
  gpu().rt.trace = undefined;
  expect(fused).toEqual(separate);
  expect(fused).toHaveLength(4);
  // The same kernels in the same order: the same bits.
  expect(Array.from(await gpu().read(y))).toEqual(Array.from(await gpu().read(y2)));
  for (const t of [...Object.values(ins), y, g, u, h, y2]) t.dispose();
});

// The subgroup-matrix tier (not on lavapipe): the launch built and validated on Dawn's null
// backend, which runs nothing. Before, that tier took two projections and swiglu (4).
const NVIDIA: AdapterTraits = { subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }] as never, subgroupMinSize: 32, subgroupMaxSize: 32, limits: {} as GPUSupportedLimits };
const nullGpu = useDawnNull();

it.each([true, false])('subgroup-matrix tier, M = 1, f16, recompute %s: 2 dispatches, the launch validates', async (recompute) => {
  expect(nullGpu(), "Dawn's null backend").toBeDefined();
  const be = nullGpu()!;
  const spec = getSpec('fused_mlp');
  const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits: be.rt.opened.limits, adapter: { ...NVIDIA, limits: be.rt.opened.limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
  const ins: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(mlpForwardInputs({ lead: [1], k: 2048, i: 80, ranks: {} }, 'f16', 1))) ins[k] = be.tensor(t.data, t.shape, t.dtype);
  const o = spec.options.parse({ recompute });
  const outs = spec.check(ins, o) as Record<string, { dtype: 'f32'; shape: number[] }>;
  be.rt.trace = [];
  const res = fusedMlpLauncher.launch(ctx, 'subgroup-matrix', ins, o, outs);
  const trace = be.rt.trace;
  be.rt.trace = undefined;
  expect(trace.map((d) => [d.pipeline.shader, !!d.pipeline.defines?.SWIGLU_ROWS])).toEqual([
    ['gemm/gemm_gemv_rows.wgsl', true],
    ['gemm/gemm_gemv_rows.wgsl', false],
  ]);
  expect(Object.keys(res).sort()).toEqual(recompute ? ['y'] : ['gate', 'up', 'y']);
  await be.sync();
  for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
});

// Prefill sizes on the subgroup-matrix tier (the model calls fused_mlp at every T): the same
// dispatches as the separate ops decoderLayer recorded before — gate and up gemms, swiglu,
// the down gemm — so prefill is not slowed by the switch to fused_mlp.
it('subgroup-matrix tier, T = 64, f16: the dispatches of gemm, gemm, swiglu, gemm', async () => {
  expect(nullGpu(), "Dawn's null backend").toBeDefined();
  const be = nullGpu()!;
  const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits: be.rt.opened.limits, adapter: { ...NVIDIA, limits: be.rt.opened.limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
  const ins: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(mlpForwardInputs({ lead: [64], k: 256, i: 512, ranks: {} }, 'f16', 1))) ins[k] = be.tensor(t.data, t.shape, t.dtype);
  const key = (d: Dispatch) => JSON.stringify([d.pipeline.shader, d.pipeline.defines, d.workgroups]);
  const spec = getSpec('fused_mlp');
  const o = spec.options.parse({});
  be.rt.trace = [];
  const res = fusedMlpLauncher.launch(ctx, 'subgroup-matrix', ins, o, spec.check(ins, o) as never);
  const fused = be.rt.trace.map(key);
  be.rt.trace = [];
  const gemm = (a: Tensor, b: Tensor) => gemmLauncher.launch(ctx, 'subgroup-matrix', { a, b }, gemmOptions.parse({ transB: true, outDtype: 'f16' }), { y: { dtype: 'f16', shape: [a.shape[0], b.shape[0]] } }).y;
  const g = gemm(ins.x, ins.wGate);
  const u = gemm(ins.x, ins.wUp);
  const h = swigluLauncher.launch(ctx, 'portable', { gate: g, up: u }, {}, { y: { dtype: 'f16', shape: g.shape } }).y;
  const y = gemm(h, ins.wDown);
  const separate = be.rt.trace.map(key);
  be.rt.trace = undefined;
  expect(fused).toEqual(separate);
  expect(fused).toHaveLength(4);
  await be.sync();
  for (const t of [...Object.values(ins), ...Object.values(res), g, u, h, y]) t.dispose();
});
