// fused_mlp's gate/up pair on webgpu's 'subgroup-matrix' tier (GU: launchers/gu_gemm.ts,
// gemm/gemm_sgmat_fetch_gu.wgsl, gemm_sgmat_gu_out.wgsl, gemm_sgmat_gu_flush.wgsl): every GU
// pipeline compiles, the launch plan takes it where it applies (prefill sizes, no gate/up
// LoRA, recompute, 16-byte rows, room for the second staging area) and the two projections +
// swiglu elsewhere. Lavapipe has no subgroup matrices: the numbers are checked on the H100
// with `pmetal conformance --quick --op fused_mlp --backend webgpu --tier subgroup-matrix`
// (PMETAL_MLP_GU=1), whose T = 200, K = 264, I = 300 case takes this kernel. Its arithmetic
// is the composed plan's — g and u rounded to the dtype, then swiglu's (g·σ(g))·u — so the
// op's bound covers it unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import { fusedMlpLauncher } from '../../src/backend/webgpu/launchers/fused_mlp.js';
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
  delete process.env.PMETAL_MLP_GU;
});

const guSpecs = () => sgmatVecXwtSpecs({ GU: true });

describe('gemm_sgmat_vec with GU (null backend)', () => {
  it('every variant compiles (a pipeline where its workgroup memory, the second stage included, fits)', async () => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    for (const spec of guSpecs()) {
      const code = shaderSource(spec).code;
      expect(code).toContain('fn flush_gu');
      expect(code).toContain('b2[b2v + w]');
    }
    const fits = (s: PipelineSpec, storage: number) => sgmatVecWorkgroupBytes(!!s.defines!.WIDE_N, false, true, !!s.defines!.DBUF, !!s.defines!.SHALLOW_K) + 8192 <= storage;
    expect(await compileErrors(nullGpu()!, guSpecs(), fits)).toEqual([]);
  });
});

/** fused_mlp's dispatches (x [t, k], W_g/W_u [i, k], W_d [k, i]) with `storage` bytes of workgroup memory assumed. */
function plan(t: number, k: number, i: number, o: Record<string, unknown> = {}, lora: 'gate' | 'down' | undefined = undefined, storage = 49152): Dispatch[] {
  expect(nullGpu(), "Dawn's null backend").toBeDefined();
  const be = nullGpu()!;
  return recordPlan(be, storage, (ctx) => {
    const ins: Record<string, Tensor> = { x: be.zeros([t, k], 'f16'), wGate: be.zeros([i, k], 'f16'), wUp: be.zeros([i, k], 'f16'), wDown: be.zeros([k, i], 'f16') };
    if (lora === 'gate') Object.assign(ins, { gateA: be.zeros([8, k], 'f16'), gateB: be.zeros([i, 8], 'f16') });
    if (lora === 'down') Object.assign(ins, { downA: be.zeros([8, i], 'f16'), downB: be.zeros([k, 8], 'f16') });
    const spec = getSpec('fused_mlp');
    const opts = spec.options.parse(o);
    const outs = spec.check(ins, opts) as Record<string, { dtype: 'f32'; shape: number[] }>;
    const res = fusedMlpLauncher.launch(ctx, 'subgroup-matrix', ins, opts, outs);
    for (const x of [...Object.values(ins), ...Object.values(res)]) x.dispose();
  });
}

const gu = (ds: Dispatch[]) => ds.filter((d) => d.pipeline.defines?.GU);
const swiglu = (ds: Dispatch[]) => ds.filter((d) => d.pipeline.shader.startsWith('elementwise/swiglu'));

describe('fused_mlp on the subgroup-matrix tier with PMETAL_MLP_GU=1: the launch plan (48 KiB, an H100)', () => {
  it('prefill sizes: one GU dispatch writing h (BN/2 columns of h a tile), then the down projection; no swiglu', () => {
    process.env.PMETAL_MLP_GU = '1';
    const ds = plan(200, 264, 300);
    expect(gu(ds)).toHaveLength(1);
    expect(swiglu(ds)).toHaveLength(0);
    const d = gu(ds)[0];
    // 2·I = 600 virtual columns in 256-wide tiles, 200 rows in 128-row tiles.
    expect(d.workgroups).toEqual([3, 2, 1]);
    expect(d.bindings.map((b) => b.binding).sort((a, b) => a - b)).toEqual([0, 1, 4, 11]);
    // GEMM_GEMV_SWIGLU_PARAMS: n = I (h's row length) second.
    expect(new Uint32Array(d.params!.data)[1]).toBe(300);
    // Then the down projection (K = I = 300 is off 16-byte words: gemm_sgmat's element pairs).
    expect(ds.at(-1)!.pipeline.shader.startsWith('gemm/')).toBe(true);
    expect(ds.indexOf(d)).toBe(ds.length - 2);
    // A down adapter leaves the pair as it is.
    expect(gu(plan(200, 264, 300, {}, 'down'))).toHaveLength(1);
  });
  it('the 128-wide tile (PMETAL_GEMM_TUNE=wideN=0) takes 128 virtual columns, 64 of h, a tile', () => {
    process.env.PMETAL_MLP_GU = '1';
    process.env.PMETAL_GEMM_TUNE = 'wideN=0';
    refreshTuning();
    try {
      const d = gu(plan(200, 264, 300))[0];
      expect(d.workgroups).toEqual([5, 2, 1]);
      expect(d.pipeline.defines?.WIDE_N).toBeFalsy();
    } finally {
      delete process.env.PMETAL_GEMM_TUNE;
      refreshTuning();
    }
  });
  it('two projections and swiglu instead: gate LoRA, recompute off, K off 16-byte words, no room for the second stage, PMETAL_MLP_GU=0', () => {
    process.env.PMETAL_MLP_GU = '1';
    const composed = (ds: Dispatch[]) => gu(ds).length === 0 && swiglu(ds).length === 1;
    expect(composed(plan(200, 264, 300, {}, 'gate'))).toBe(true);
    expect(composed(plan(200, 264, 300, { recompute: false }))).toBe(true);
    expect(composed(plan(200, 260, 300))).toBe(true);
    expect(composed(plan(200, 264, 300, {}, undefined, 40960))).toBe(true);
    process.env.PMETAL_MLP_GU = '0';
    expect(composed(plan(200, 264, 300))).toBe(true);
  });
});
