// fused_distill_loss's persistent js plan (PMETAL_DISTILL_JS_GROUPS=N, launchers/distill_js_plan.ts):
// N workgroups walk the rows, each reading a row's two passes back to back. Each row's
// arithmetic is the one-workgroup-a-row kernel's, so on lavapipe it must give the same bits as
// the default plan (both tiers) and lie within the float64 reference's bounds — with more
// rows than workgroups, fewer, and rows split over several binding windows (chunks).
import { describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import type { LaunchContext } from '../../src/backend/webgpu/launch.js';
import { distillJsPlan } from '../../src/backend/webgpu/launchers/distill_js_plan.js';
import { fusedDistillLossLauncher } from '../../src/backend/webgpu/launchers/fused_distill_loss.js';
import { toFloat64, type FloatDType } from '../../src/dtype.js';
import { OptionsError } from '../../src/errors.js';
import { distillInputs, type DistillDef } from '../../src/ops/fused_distill_loss/cases.js';
import { getSpec } from '../../src/ops/registry.js';
import type { RefTensor } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';
import { compare } from '../../conformance/compare.js';
import { checkAgainstReference } from './against_reference.js';
import { useWebGpuIfAny } from '../webgpu_backends.js';

const gpu = useWebGpuIfAny();

const SWITCHES = ['PMETAL_DISTILL_JS_GROUPS', 'PMETAL_DISTILL_JS_INFLIGHT'] as const;
function withPlan<T>(groups: string | undefined, inflight: string | undefined, fn: () => T): T {
  const set = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
  set(SWITCHES[0], groups);
  set(SWITCHES[1], inflight);
  try {
    return fn();
  } finally {
    for (const k of SWITCHES) delete process.env[k];
  }
}

/** Every output's f32 bits, run through the backend on `tier`. */
async function bits(be: WebGpuBackend, host: ReturnType<typeof distillInputs>, options: Record<string, unknown>, tier: string): Promise<Record<string, number[]>> {
  const ins: Record<string, Tensor> = {};
  for (const [k, h] of Object.entries(host)) ins[k] = be.tensor(h.data, h.shape, h.dtype);
  const res = be.run('fused_distill_loss', ins, options, { tier });
  const out: Record<string, number[]> = {};
  try {
    for (const [k, t] of Object.entries(res)) {
      const d = (await be.read(t)) as Float32Array;
      out[k] = Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));
    }
  } finally {
    for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
  }
  return out;
}

describe('fused_distill_loss js: the persistent plan', () => {
  it('PMETAL_DISTILL_JS_GROUPS and PMETAL_DISTILL_JS_INFLIGHT are validated', () => {
    expect(distillJsPlan(undefined, undefined)).toEqual({ groups: 0, inflight: 4 });
    expect(distillJsPlan('', '')).toEqual({ groups: 0, inflight: 4 });
    expect(distillJsPlan('0', '1')).toEqual({ groups: 0, inflight: 1 });
    expect(distillJsPlan('48', undefined)).toEqual({ groups: 48, inflight: 4 });
    expect(distillJsPlan('132', '8')).toEqual({ groups: 132, inflight: 8 });
    expect(distillJsPlan('0', '2')).toEqual({ groups: 0, inflight: 2 });
    for (const g of ['abc', '-1', '1.5', '65536', ' 4', '0x10']) {
      expect(() => distillJsPlan(g, undefined)).toThrow(OptionsError);
      expect(() => distillJsPlan(g, undefined)).toThrow(`[fused_distill_loss] PMETAL_DISTILL_JS_GROUPS: expected 0 (one workgroup a row) or a workgroup count 1–65535, got '${g}'`);
    }
    expect(() => distillJsPlan('64', '3')).toThrow("[fused_distill_loss] PMETAL_DISTILL_JS_INFLIGHT: expected one of 1, 2, 4, 8, got '3'");
  });

  it('a bad value fails the op on webgpu with the same message', () => {
    expect(gpu(), 'a webgpu adapter').toBeDefined();
    const host = distillInputs({ shape: [2, 5], options: {} }, 'f32', 1);
    const ins = Object.values(host).map((h) => gpu()!.tensor(h.data, h.shape, h.dtype));
    try {
      expect(() => withPlan('many', undefined, () => gpu()!.run('fused_distill_loss', { student: ins[0], teacher: ins[1] }, { loss: 'js' }))).toThrow(/PMETAL_DISTILL_JS_GROUPS: expected 0 .* got 'many'/);
    } finally {
      for (const t of ins) t.dispose();
    }
  });

  // G = 3: 7 rows (> G, not a multiple), 2 rows (< G), 3-D; odd V (odd word parity a row);
  // V = 2500, 5000 and 20001 (WG 256): rows where the unrolled loop runs once, several times
  // (a lane's sums then mix both loops) and not at all (JS_U = 8 at 2500).
  const defs: DistillDef[] = [
    { shape: [7, 33], options: { loss: 'js', temperature: 0.5, reduction: 'none' } },
    { shape: [2, 100], options: { loss: 'js', reduction: 'mean' } },
    { shape: [2, 3, 77], options: { loss: 'js', temperature: 1.5, reduction: 'sum' }, range: 20 },
    { shape: [5, 2500], options: { loss: 'js', temperature: 2, reduction: 'none' } },
    { shape: [4, 5000], options: { loss: 'js', reduction: 'mean' }, range: 12 },
    { shape: [3, 20001], options: { loss: 'js', temperature: 0.8, reduction: 'none' } },
  ];
  const cases: [FloatDType, string, DistillDef][] = [];
  for (const dt of ['f32', 'f16', 'bf16'] as FloatDType[]) for (const u of ['1', '4', '8']) for (const d of defs) cases.push([dt, u, d]);

  it.each(cases)('%s, G = 3, JS_U = %s: within the bounds, and the default plan\'s bits on every tier (%j)', async (dtype, u, d) => {
    expect(gpu(), 'a webgpu adapter').toBeDefined();
    const host = distillInputs(d, dtype, 5);
    const rows = d.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    gpu()!.rt.trace = [];
    const res = await withPlan('3', u, () => checkAgainstReference(gpu()!, 'fused_distill_loss', host, d.options));
    const js = gpu()!.rt.trace!.filter((x) => x.pipeline.shader === 'loss/distill.wgsl');
    gpu()!.rt.trace = undefined;
    expect(res.bad).toEqual([]);
    // The persistent kernel ran: one dispatch of min(G, rows) workgroups.
    expect(js.map((x) => [x.pipeline.defines?.PERSIST, x.pipeline.defines?.JS_U, x.workgroups])).toEqual([[true, Number(u), [Math.min(3, rows), 1]]]);
    for (const tier of gpu()!.capabilities().tiers.filter((t) => t !== 'subgroup-matrix')) {
      const want = await bits(gpu()!, host, d.options, tier);
      const got = await withPlan('3', u, () => bits(gpu()!, host, d.options, tier));
      expect(got, tier).toEqual(want);
    }
  });

  it('rows split over binding windows: each chunk gets min(G, its rows) workgroups, the same bits', async () => {
    expect(gpu(), 'a webgpu adapter').toBeDefined();
    const be = gpu()!;
    const spec = getSpec('fused_distill_loss');
    const d: DistillDef = { shape: [20, 101], options: { loss: 'js', temperature: 0.7, reduction: 'none' } };
    const o = spec.options.parse(d.options);
    // 4096-byte windows: 9 rows of 404 bytes a chunk (9, 9, 2: the last under G = 3).
    const lim = be.rt.opened.limits;
    const limits = { maxComputeWorkgroupsPerDimension: lim.maxComputeWorkgroupsPerDimension, minStorageBufferOffsetAlignment: lim.minStorageBufferOffsetAlignment, maxStorageBufferBindingSize: 4096 } as GPUSupportedLimits;
    const ctx: LaunchContext = { rt: be.rt, features: be.rt.opened.features, limits, adapter: { ...be.adapter, limits }, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => be.zeros(info.shape, info.dtype) };
    const host = distillInputs(d, 'f32', 3);
    const run = async (groups?: string) => {
      const ins: Record<string, Tensor> = {};
      for (const [k, h] of Object.entries(host)) ins[k] = be.tensor(h.data, h.shape, h.dtype);
      be.rt.trace = [];
      const res = withPlan(groups, undefined, () => fusedDistillLossLauncher.launch(ctx, 'portable', ins, o, spec.check(ins, o) as never));
      const grids = be.rt.trace.map((x) => x.workgroups);
      be.rt.trace = undefined;
      const out: Record<string, number[]> = {};
      for (const [k, t] of Object.entries(res)) {
        const a = (await be.read(t)) as Float32Array;
        out[k] = Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
      }
      for (const t of [...Object.values(ins), ...Object.values(res)]) t.dispose();
      return { out, grids };
    };
    const base = await run();
    const pers = await run('3');
    expect(base.grids).toEqual([[9, 1], [9, 1], [2, 1]]);
    expect(pers.grids).toEqual([[3, 1], [3, 1], [2, 1]]);
    expect(pers.out).toEqual(base.out);
    // And those bits against the float64 reference's bounds.
    const refIn = Object.fromEntries(Object.entries(host).map(([k, h]) => [k, { dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) }]));
    const ref = spec.reference(refIn, o) as Record<string, RefTensor>;
    const bounds = spec.bounds(refIn, o, ref) as Record<string, Float64Array>;
    for (const [k, b] of Object.entries(pers.out)) {
      const got = Float64Array.from(new Float32Array(Uint32Array.from(b).buffer));
      expect(compare(got, ref[k].data, bounds[k], 'f32').pass, k).toBe(true);
    }
  });
});
