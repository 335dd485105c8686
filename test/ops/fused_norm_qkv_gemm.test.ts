// fused_norm_qkv's three projections in one dispatch on webgpu's 'subgroup-matrix' tier (QKV:
// launchers/qkv_gemm.ts, gemm/gemm_sgmat_fetch_qkv.wgsl, gemm_sgmat_qkv_out.wgsl,
// gemm_sgmat_qkv_flush.wgsl; opt-in PMETAL_QKV_GEMM=1): every QKV pipeline compiles, the plan
// takes it where each tile lies within one weight and the three gemms elsewhere. Lavapipe has
// no subgroup matrices: the numbers are checked on the H100 with `pmetal conformance --quick
// --op fused_norm_qkv --backend webgpu --tier subgroup-matrix` (PMETAL_QKV_GEMM=1), whose
// T = 130, N_q = 512, N_k = 256, N_v = 200 case takes it. Each output element is the product
// gemm computes for that projection alone, stored the same way, so the op's bound holds.
import { afterEach, describe, expect, it } from 'vitest';
import { fusedNormQkvLauncher } from '../../src/backend/webgpu/launchers/fused_norm_qkv.js';
import { sgmatVecWorkgroupBytes } from '../../src/backend/webgpu/launchers/gemm.js';
import { shaderSource, type PipelineSpec } from '../../src/backend/webgpu/pipelines.js';
import type { Dispatch } from '../../src/backend/webgpu/runtime.js';
import { refreshTuning } from '../../src/backend/webgpu/tuning.js';
import { getSpec } from '../../src/ops/registry.js';
import type { Tensor } from '../../src/tensor.js';
import { compileErrors, recordPlan, sgmatVecXwtSpecs } from './null_plan.js';
import { useDawnNull } from '../webgpu_backends.js';

const nullGpu = useDawnNull();

afterEach(() => {
  delete process.env.PMETAL_QKV_GEMM;
  delete process.env.PMETAL_GEMM_TUNE;
  refreshTuning();
});

const qkvSpecs = () => sgmatVecXwtSpecs({ QKV: true });

describe('gemm_sgmat_vec with QKV (null backend)', () => {
  it('every variant compiles (a pipeline where its workgroup memory fits)', async () => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    for (const spec of qkvSpecs()) expect(shaderSource(spec).code).toContain('fn flush_qkv');
    const fits = (s: PipelineSpec, storage: number) => sgmatVecWorkgroupBytes(!!s.defines!.WIDE_N, false, true, !!s.defines!.DBUF, !!s.defines!.SHALLOW_K) <= storage;
    expect(await compileErrors(nullGpu()!, qkvSpecs(), fits)).toEqual([]);
  });
});

/** fused_norm_qkv's dispatches (x [t, k], heads hq/hkv of d, v of width nv) with 48 KiB of workgroup memory assumed. */
function plan(t: number, k: number, hq: number, hkv: number, d: number, nv: number, bias = false): Dispatch[] {
  expect(nullGpu(), "Dawn's null backend").toBeDefined();
  const be = nullGpu()!;
  return recordPlan(be, 49152, (ctx) => {
    const ins: Record<string, Tensor> = { x: be.zeros([t, k], 'f16'), gamma: be.zeros([k], 'f16'), wq: be.zeros([hq * d, k], 'f16'), wk: be.zeros([hkv * d, k], 'f16'), wv: be.zeros([nv, k], 'f16') };
    if (bias) Object.assign(ins, { bq: be.zeros([hq * d], 'f16'), bk: be.zeros([hkv * d], 'f16'), bv: be.zeros([nv], 'f16') });
    const spec = getSpec('fused_norm_qkv');
    const o = spec.options.parse({});
    const outs = spec.check(ins, o) as Record<string, { dtype: 'f32'; shape: number[] }>;
    const res = fusedNormQkvLauncher.launch(ctx, 'subgroup-matrix', ins, o, outs);
    for (const x of [...Object.values(ins), ...Object.values(res)]) x.dispose();
  });
}

const qkv = (ds: Dispatch[]) => ds.filter((d) => d.pipeline.defines?.QKV);
const gemms = (ds: Dispatch[]) => ds.filter((d) => d.pipeline.shader.startsWith('gemm/') && !d.pipeline.defines?.QKV);

describe('fused_norm_qkv on the subgroup-matrix tier with PMETAL_QKV_GEMM=1: the launch plan (48 KiB, an H100)', () => {
  it('prefill sizes: rms_norm, then one QKV dispatch over N_q + N_k + N_v virtual columns', () => {
    process.env.PMETAL_QKV_GEMM = '1';
    const ds = plan(130, 264, 8, 4, 64, 200);
    expect(qkv(ds)).toHaveLength(1);
    expect(gemms(ds)).toHaveLength(0);
    const d = qkv(ds)[0];
    // 968 virtual columns in 256-wide tiles (the last, v's, ragged), 130 rows in 128-row tiles.
    expect(d.workgroups).toEqual([4, 2, 1]);
    expect(d.bindings.map((b) => b.binding).sort((a, b) => a - b)).toEqual([0, 1, 4, 11, 12, 13, 14]);
    // GEMM_QKV_PARAMS: n (virtual) second, then n_k0, n_v0 after the 13 gemm fields.
    const u = new Uint32Array(d.params!.data);
    expect([u[1], u[13], u[14]]).toEqual([968, 512, 768]);
  });
  it('the 128-wide tile takes N_q and N_k on multiples of 128', () => {
    process.env.PMETAL_QKV_GEMM = '1';
    process.env.PMETAL_GEMM_TUNE = 'wideN=0';
    refreshTuning();
    const d = qkv(plan(130, 264, 4, 4, 32, 64))[0];
    expect(d.workgroups).toEqual([3, 2, 1]);
    expect(d.pipeline.defines?.WIDE_N).toBeFalsy();
  });
  it('three gemms instead: a tile across two weights, biases, PMETAL_QKV_GEMM unset', () => {
    process.env.PMETAL_QKV_GEMM = '1';
    expect(qkv(plan(130, 264, 4, 2, 32, 64))).toHaveLength(0);
    expect(qkv(plan(130, 264, 8, 4, 64, 200, true))).toHaveLength(0);
    delete process.env.PMETAL_QKV_GEMM;
    const ds = plan(130, 264, 8, 4, 64, 200);
    expect(qkv(ds)).toHaveLength(0);
    expect(gemms(ds).length).toBeGreaterThanOrEqual(3);
  });
});
