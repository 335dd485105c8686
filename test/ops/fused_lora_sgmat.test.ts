// fused_lora_forward's one-dispatch LoRA term on webgpu's 'subgroup-matrix' tier
// (launchers/lora_gemm.ts, gemm/gemm_sgmat_lora.wgsl and, the default, the epilogue's
// gemm/gemm_sgmat_lora_epi.wgsl): every LORA_K / LORA_EPI pipeline compiles, the
// launch plan takes it where it applies and the three-gemm plan elsewhere (and gemm_tiled's
// LORA_K on the portable tier, whose numbers lavapipe checks in the conformance run), and the f16 bound
// covers its arithmetic (an f32/f16 emulation of the kernel's roundings against the float64
// reference). Lavapipe has no subgroup matrices: the numbers are checked on the H100 with
// `pmetal conformance --quick --op fused_lora_forward,fused_mlp --backend webgpu --tier
// subgroup-matrix --toggles allow_unsafe_apis,vulkan_enable_f16_on_nvidia`.
import { describe, expect, it } from 'vitest';
import { fusedLoraBackwardLauncher, fusedLoraForwardLauncher } from '../../src/backend/webgpu/launchers/fused_lora.js';
import { gemmPipeline, sgmatVecWorkgroupBytes } from '../../src/backend/webgpu/launchers/gemm.js';
import { loraGemmVariant } from '../../src/backend/webgpu/launchers/lora_gemm.js';
import { shaderSource, type PipelineSpec } from '../../src/backend/webgpu/pipelines.js';
import type { Dispatch } from '../../src/backend/webgpu/runtime.js';
import { f16ToNumber, numberToF16 } from '../../src/dtype.js';
import { dropoutMask } from '../../src/ops/fused_lora_forward/dropout.js';
import { getSpec } from '../../src/ops/registry.js';
import type { RefTensor } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';
import { compileErrors, recordPlan } from './null_plan.js';
import { useDawnNull } from '../webgpu_backends.js';

const nullGpu = useDawnNull();

/** gemm_sgmat_vec with LORA_K in every shape lora_gemm.ts launches it with (x·Wᵀ, f16 out). */
function loraSpecs(): PipelineSpec[] {
  const out: PipelineSpec[] = [];
  for (const hasBias of [false, true])
    for (const wideN of [false, true])
      for (const mode of [{}, { dbuf: true, shallowK: true }, { shallowK: true }, { dbuf: true }]) {
        const p = gemmPipeline('subgroup-matrix', 'f16', { yDtype: 'f16', transA: false, transB: true, hasC: false, hasBias }, { kernel: 'sgmat_vec', wideN, ...mode });
        for (const first of [false, true]) out.push({ ...p, defines: { ...p.defines, LORA_K: true, ...(first ? { LORA_FIRST: true } : {}) } });
        // LORA_EPI with b transposed (the forward) and not (the backward's dx = dy·W + gs·A).
        for (const transB of [true, false]) {
          const q = gemmPipeline('subgroup-matrix', 'f16', { yDtype: 'f16', transA: false, transB, hasC: false, hasBias }, { kernel: 'sgmat_vec', wideN, ...mode });
          out.push({ ...q, defines: { ...q.defines, LORA_K: true, LORA_EPI: true } });
        }
      }
  return out;
}

describe('gemm_sgmat_vec with LORA_K (null backend)', () => {
  it('every variant compiles (a pipeline where its workgroup memory fits)', async () => {
    expect(nullGpu(), "Dawn's null backend").toBeDefined();
    for (const spec of loraSpecs()) expect(shaderSource(spec).code).toContain('lora_a_base');
    const fits = (s: PipelineSpec, storage: number) => sgmatVecWorkgroupBytes(!!s.defines!.WIDE_N, false, true, !!s.defines!.DBUF, !!s.defines!.SHALLOW_K) <= storage;
    expect(await compileErrors(nullGpu()!, loraSpecs(), fits)).toEqual([]);
  });
});

/**
 * The forward's dispatches on the null backend's buffers with 48 KiB of workgroup memory
 * assumed (an H100; the null adapter's 16 KiB holds no gemm_sgmat_vec tile), recorded
 * instead of encoded, each checked to bind exactly what its shader declares; `variant` is
 * PMETAL_LORA_GEMM_VARIANT for the call ('' : the default).
 */
function plan(t: number, k: number, n: number, r: number, opts: Record<string, unknown> = {}, bias = false, variant = 'fused', tier: 'subgroup-matrix' | 'portable' = 'subgroup-matrix'): Dispatch[] {
  expect(nullGpu(), "Dawn's null backend").toBeDefined();
  const be = nullGpu()!;
  process.env.PMETAL_LORA_GEMM_VARIANT = variant;
  try {
    return recordPlan(be, 49152, (ctx) => {
      const ins: Record<string, Tensor> = { x: be.zeros([t, k], 'f16'), weight: be.zeros([n, k], 'f16'), loraA: be.zeros([r, k], 'f16'), loraB: be.zeros([n, r], 'f16') };
      if (bias) ins.bias = be.zeros([n], 'f16');
      const spec = getSpec('fused_lora_forward');
      const o = spec.options.parse(opts);
      const outs = spec.check(ins, o) as Record<string, { dtype: 'f32'; shape: number[] }>;
      const res = fusedLoraForwardLauncher.launch(ctx, tier, ins, o, outs);
      for (const x of [...Object.values(ins), ...Object.values(res)]) x.dispose();
    });
  } finally {
    delete process.env.PMETAL_LORA_GEMM_VARIANT;
  }
}

const label = (d: Dispatch) => `${d.pipeline.shader.split('/')[1]}${d.pipeline.defines?.LORA_K ? ' LORA_K' : ''}${d.pipeline.defines?.SPLIT_K ? ' SPLIT_K' : ''}${d.pipeline.defines?.CAST ? ' CAST' : ''}`;

describe('fused_lora_forward on the subgroup-matrix tier: the launch plan with 48 KiB of workgroup memory (an H100)', () => {
  it('prefill-sized, aligned: xa, xs = s·xa in f16, then one LORA_K dispatch — no [T, N] term', () => {
    const ds = plan(1024, 512, 2048, 16, { alpha: 32 }, true);
    expect(ds.map(label).slice(-2)).toEqual(['lora_elementwise.wgsl CAST', 'gemm_sgmat_vec.wgsl LORA_K']);
    expect(ds.filter((d) => d.pipeline.shader.startsWith('gemm/gemm_sgmat_vec')).length).toBe(2);
    const last = ds[ds.length - 1];
    expect(last.workgroups).toEqual([8, 8, 1]);
    // GEMM_LORA_PARAMS: r after the 13 gemm fields; the cast's scale (s = 2) after its 5.
    expect(new Uint32Array(last.params!.data)[13]).toBe(16);
    expect(new Float32Array(ds[ds.length - 2].params!.data)[5]).toBe(2);
  });
  it("the 'first' variant puts the r columns before the base loop (LORA_FIRST), the same plan otherwise", () => {
    const fused = plan(1024, 512, 2048, 16, { alpha: 32 }, true);
    const first = plan(1024, 512, 2048, 16, { alpha: 32 }, true, 'first');
    expect(first.map(label)).toEqual(fused.map(label));
    expect(first[first.length - 1].pipeline.defines?.LORA_FIRST).toBe(true);
    expect(fused[fused.length - 1].pipeline.defines?.LORA_FIRST).toBeUndefined();
    const src = shaderSource(first[first.length - 1].pipeline).code;
    expect(src.indexOf('lora_a_base')).toBeLessThan(src.indexOf('k0 = k_begin'));
  });
  it("the 'epi' variant adds the term in the epilogue (LORA_EPI, no K-loop tail), r ≤ 32; three launches past that", () => {
    const fused = plan(1024, 512, 2048, 16, { alpha: 32 }, true);
    const epi = plan(1024, 512, 2048, 16, { alpha: 32 }, true, 'epi');
    expect(epi.map(label)).toEqual(fused.map(label));
    const last = epi[epi.length - 1];
    expect(last.pipeline.defines?.LORA_EPI).toBe(true);
    const src = shaderSource(last.pipeline).code;
    // The staging follows the base loop and the tail's fetch of lora_a into ra is gone.
    expect(src.indexOf('lora_a[lav')).toBeGreaterThan(src.indexOf('k0 = k_begin'));
    expect(src).not.toContain('lora_a[lav + gr');
    for (const r of [8, 24, 32]) expect(plan(256, 128, 512, r, {}, false, 'epi').at(-1)!.pipeline.defines?.LORA_EPI).toBe(true);
    expect(plan(256, 128, 512, 40, {}, false, 'epi').some((d) => d.pipeline.defines?.LORA_K)).toBe(false);
  });
  it('with dropout the mask runs first and reaches xa only', () => {
    const ds = plan(1024, 512, 2048, 16, { dropout: 0.1, seed: 7 }).map(label);
    expect(ds[0]).toBe('lora_elementwise.wgsl');
    expect(ds.slice(-2)).toEqual(['lora_elementwise.wgsl CAST', 'gemm_sgmat_vec.wgsl LORA_K']);
  });
  it('falls back to three gemms: r not a multiple of 8, decode sizes, a product split-K would split, the composed variant', () => {
    const composed = (ds: Dispatch[]) => ds.every((d) => !d.pipeline.defines?.LORA_K) && ds.filter((d) => d.pipeline.shader.startsWith('gemm/')).length >= 3;
    expect(composed(plan(1024, 512, 2048, 12))).toBe(true);
    expect(composed(plan(8, 1024, 1024, 16))).toBe(true);
    expect(composed(plan(128, 4096, 256, 16))).toBe(true);
    expect(composed(plan(512, 1024, 1024, 16))).toBe(true);
    expect(composed(plan(1024, 512, 2048, 16, {}, false, 'composed'))).toBe(true);
    // The default takes the epilogue term up to r = 32 (run S14), three launches past it.
    expect(plan(1024, 512, 2048, 16, {}, false, '').at(-1)!.pipeline.defines?.LORA_EPI).toBe(true);
    expect(composed(plan(1024, 512, 2048, 40, {}, false, ''))).toBe(true);
  });
  it('the quick conformance cases reach LORA_K (x=[32,64] r=32, x=[48,96] r=24, x=[40,256] r=72), so the H100 quick run covers it', () => {
    for (const [t, k, n, r, o, bias] of [[32, 64, 70, 32, { dropout: 0.1, seed: 11 }, false], [48, 96, 130, 24, { alpha: 8, dropout: 0.2, seed: 6 }, false], [40, 256, 264, 72, { alpha: 36 }, true]] as const) {
      expect(plan(t, k, n, r, o, bias).map(label).slice(-1)).toEqual(['gemm_sgmat_vec.wgsl LORA_K']);
    }
  });
  it('the portable tier (gemm_tiled) takes the K-loop term by default, any r; composed on request', () => {
    expect(plan(40, 48, 70, 5, { alpha: 3 }, true, '', 'portable').map(label).slice(-2)).toEqual(['lora_elementwise.wgsl CAST', 'gemm_tiled.wgsl LORA_K']);
    expect(plan(40, 48, 70, 5, {}, false, 'composed', 'portable').some((d) => d.pipeline.defines?.LORA_K)).toBe(false);
  });
  it('backward without dropout: dx = dy·W + gs·A in one LORA_K dispatch (b untransposed), g in f32 then cast twice; with dropout the h plan', () => {
    const bwd = (dropout: number, tier: 'subgroup-matrix' | 'portable', variant: string) => {
      const be = nullGpu()!;
      process.env.PMETAL_LORA_GEMM_VARIANT = variant;
      try {
        return recordPlan(be, 49152, (ctx) => {
          const [t, k, n, r] = [1024, 2048, 512, 16];
          const ins: Record<string, Tensor> = { dy: be.zeros([t, n], 'f16'), x: be.zeros([t, k], 'f16'), weight: be.zeros([n, k], 'f16'), loraA: be.zeros([r, k], 'f16'), loraB: be.zeros([n, r], 'f16'), xa: be.zeros([t, r], 'f32') };
          const spec = getSpec('fused_lora_backward');
          const o = spec.options.parse(dropout ? { dropout, seed: 3 } : {});
          const outs = spec.check(ins, o) as Record<string, { dtype: 'f32'; shape: number[] }>;
          const res = fusedLoraBackwardLauncher.launch(ctx, tier, ins, o, outs);
          for (const x of [...Object.values(ins), ...Object.values(res)]) x.dispose();
        });
      } finally {
        delete process.env.PMETAL_LORA_GEMM_VARIANT;
      }
    };
    for (const [tier, variant, shader] of [['portable', '', 'gemm_tiled.wgsl'], ['subgroup-matrix', 'fused', 'gemm_sgmat_vec.wgsl']] as const) {
      const ds = bwd(0, tier, variant);
      const last = ds[ds.length - 1];
      expect(label(last)).toBe(`${shader} LORA_K`);
      expect(last.pipeline.defines?.TRANS_B).toBe(false);
      // Casts: xa' (for dB), g' (for dA), gs.
      expect(ds.filter((d) => d.pipeline.defines?.CAST).length).toBe(3);
      expect(bwd(0.1, tier, variant).some((d) => d.pipeline.defines?.LORA_K)).toBe(false);
    }
    // By default the matrix units take dx's term in the epilogue (LORA_EPI, r = 16).
    expect(bwd(0, 'subgroup-matrix', '').at(-1)!.pipeline.defines?.LORA_EPI).toBe(true);
    expect(bwd(0, 'subgroup-matrix', 'composed').some((d) => d.pipeline.defines?.LORA_K)).toBe(false);
  });
  it('PMETAL_LORA_GEMM_VARIANT is validated', () => {
    expect(loraGemmVariant(undefined)).toBe('auto');
    expect(() => loraGemmVariant('fast')).toThrow(/PMETAL_LORA_GEMM_VARIANT: expected one of auto, fused, composed, first, epi, got 'fast'/);
  });
});

const f16 = (v: number) => f16ToNumber(numberToF16(v));

/** Seeded f16-representable values in [−a, a). */
function values(n: number, a: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = f16((s / 2 ** 32 - 0.5) * 2 * a);
  }
  return out;
}

/**
 * The LORA_K launch's arithmetic in f32 and f16: xa summed in f32 (times fl(1/(1−p))), xs =
 * f16(fl(fl(s)·xa)), y = f16(f32 sum over K of x·W, then over r of xs·B, then + bias).
 * Products of f16 values are exact in f32, as on the matrix units.
 */
function emulate(x: Float64Array, w: Float64Array, a: Float64Array, b: Float64Array, bias: Float64Array | undefined, t: number, k: number, n: number, r: number, s: number, p: number, seed: number): Float64Array {
  const fr = Math.fround;
  const keep = dropoutMask(t * k, p, seed);
  const inv = fr(1 / (1 - p));
  const xs = new Float64Array(t * r);
  for (let i = 0; i < t; i++)
    for (let j = 0; j < r; j++) {
      let acc = 0;
      for (let q = 0; q < k; q++) acc = fr(acc + (keep[i * k + q] ? x[i * k + q] : 0) * a[j * k + q]);
      xs[i * r + j] = f16(fr(fr(s) * fr(inv * acc)));
    }
  const y = new Float64Array(t * n);
  for (let i = 0; i < t; i++)
    for (let c = 0; c < n; c++) {
      let acc = 0;
      for (let q = 0; q < k; q++) acc = fr(acc + x[i * k + q] * w[c * k + q]);
      for (let j = 0; j < r; j++) acc = fr(acc + xs[i * r + j] * b[c * r + j]);
      y[i * n + c] = f16(bias ? fr(acc + bias[c]) : acc);
    }
  return y;
}

describe("fused_lora_forward's f16 bound covers the one-dispatch arithmetic", () => {
  it.each([
    ['s = 2, no dropout', 6, 64, 10, 8, { alpha: 16 }, true],
    ['s = 0.25 with dropout', 5, 48, 7, 16, { alpha: 4, dropout: 0.3, seed: 11 }, false],
    ['large LoRA term against a small base', 4, 32, 6, 8, { alpha: 64 }, true],
  ] as const)('%s', (_l, t, k, n, r, opts, withBias) => {
    const spec = getSpec('fused_lora_forward');
    const o = spec.options.parse(opts);
    const ref = (shape: number[], data: Float64Array): RefTensor => ({ dtype: 'f16', shape, data });
    const i: Record<string, RefTensor> = { x: ref([t, k], values(t * k, 2, 1)), weight: ref([n, k], values(n * k, 0.5, 2)), loraA: ref([r, k], values(r * k, 0.5, 3)), loraB: ref([n, r], values(n * r, 1, 4)) };
    if (withBias) i.bias = ref([n], values(n, 1, 5));
    const want = spec.reference(i, o);
    const bound = spec.bounds!(i, o, want).y!;
    const s = (o.alpha ?? r) / r;
    const got = emulate(i.x.data, i.weight.data, i.loraA.data, i.loraB.data, i.bias?.data, t, k, n, r, s, o.dropout, o.seed);
    let worst = 0;
    for (let q = 0; q < t * n; q++) worst = Math.max(worst, Math.abs(got[q] - want.y!.data[q]) / bound[q]);
    expect(worst).toBeLessThanOrEqual(1);
    expect(worst).toBeGreaterThan(0);
  });
});
