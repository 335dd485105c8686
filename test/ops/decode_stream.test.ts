// decode_attention on webgpu (decode_stream.wgsl + decode_reduce.wgsl) beyond the conformance
// catalogue: every plan shape the launcher can pick on some adapter — team widths 2–8 (lavapipe's
// subgroups are 8 wide; 16 takes the same code with other constants; a 1-lane team's 16-word
// rows take lavapipe minutes to compile), several row blocks, 1–3
// keys in flight a team, small workgroups (many teams), forced split counts — on both tiers,
// within the reference's bounds; and the plan itself at the issue's shapes on an H100-like
// adapter (each K/V byte read once per kv head, enough workgroups), under WebGPU's default
// 16 KiB of workgroup memory, and the variant switch.
import { beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../conformance/compare.js';
import type { LaunchContext } from '../../src/backend/webgpu/launch.js';
import { decodePrefetch, launchDecode } from '../../src/backend/webgpu/launchers/decode_attention.js';
import { DECODE_VARIANTS, decodeVariant, streamBytes, streamPlan, type StreamPlan } from '../../src/backend/webgpu/launchers/decode_plan.js';
import { toFloat64, type FloatDType } from '../../src/dtype.js';
import { OptionsError } from '../../src/errors.js';
import { decodeInputs, decodeOptionsOf, type DecodeProblem } from '../../src/ops/decode_attention/cases.js';
import { decodeDims } from '../../src/ops/decode_attention/dims.js';
import { getSpec } from '../../src/ops/registry.js';
import type { RefTensor } from '../../src/ops/types.js';
import type { Tensor } from '../../src/tensor.js';
import { useWebGpu } from '../webgpu_backends.js';

const dec = getSpec('decode_attention');

// Head dims of 5 and 3 f16 words (D = 40, Dv = 24): a team's last lanes hold no word; T = 3,
// G = 4 (12 rows); a window, softcap, sinks, an empty sequence and a paged cache.
const PAGED: DecodeProblem = { lengths: [50, 7, 0], t: 3, hq: 8, hkv: 2, d: 40, dv: 24, paged: { blockSize: 8, numBlocks: 14, maxBlocks: 7 }, window: 9, softcap: 20, sinks: true };
// A contiguous cache, MQA with T = 2 (8 rows), lengths over several splits and below T.
const FLAT: DecodeProblem = { lengths: [130, 64, 1], t: 2, hq: 4, hkv: 1, d: 64, smax: 140 };

const PLANS: [string, Partial<StreamPlan>][] = [
  ['8 lanes, 2 rows, 64 invocations, 3 splits', { tl: 8, rb: 2, wg: 64, splits: 3 }],
  ['2 lanes, 1 row a workgroup, 5 splits', { tl: 2, rb: 1, wg: 32, splits: 5 }],
  ['4 lanes, 3 keys in flight', { tl: 4, rb: 2, u: 3, wg: 64 }],
  ['8 lanes, 8 rows, 1 key in flight, 1 split', { tl: 8, rb: 8, u: 1, splits: 1 }],
];

describe('decode_stream.wgsl: every plan shape, both tiers, within bounds', () => {
  const gpu = useWebGpu();
  let ctx: LaunchContext;
  beforeAll(() => {
    ctx = { rt: gpu().rt, features: gpu().rt.opened.features, limits: gpu().rt.opened.limits, adapter: gpu().adapter, buffer: (t) => t.storage<{ buffer: GPUBuffer }>('test').buffer, output: (info) => gpu().zeros(info.shape, info.dtype) };
  });

  const cases = PLANS.flatMap(([label, force]) =>
    (['subgroups', 'portable'] as const).flatMap((tier) =>
      (
        [
          ['paged', PAGED, 'f16'],
          ['flat', FLAT, 'f32'],
          ['flat', FLAT, 'bf16'],
        ] as const
      ).map(([name, p, dtype]) => [`${label}, ${tier}, ${name} ${dtype}`, force, tier, p, dtype] as const),
    ),
  );
  // The loops unrolled by the preprocessor, as on a GPU (lavapipe leaves them rolled: its
  // compile of the unrolled body takes seconds a plan), on a plan of 2 rows and 2 keys in flight.
  const unrolled = [
    ['unrolled: 8 lanes, 2 rows, 2 keys in flight, subgroups, paged f16', { tl: 8, rb: 2, u: 2, wg: 64 }, 'subgroups', PAGED, 'f16'],
    ['unrolled: 8 lanes, 2 rows, 2 keys in flight, portable, flat bf16', { tl: 8, rb: 2, u: 2, wg: 64 }, 'portable', FLAT, 'bf16'],
  ] as const;
  it.each(unrolled)('%s', async (_l, force, tier, p, dtype) => {
    process.env.PMETAL_DECODE_UNROLL = '1';
    try {
      await check(force, tier, p, dtype, true);
    } finally {
      delete process.env.PMETAL_DECODE_UNROLL;
    }
  });

  it.each(cases)('%s', async (_l, force, tier, p, dtype) => check(force, tier, p, dtype, false));

  // PMETAL_DECODE_PREFETCH=1: the next step's keys loaded before the current ones are used
  // (a prologue load, then each step's loads of step + 1) — plans of many steps, 1 and 3 keys
  // in flight, forced splits (a split's last step loads nothing), both tiers, rolled and unrolled.
  const prefetched = [
    ['prefetch: 4 lanes, 3 keys in flight, subgroups, paged f16', { tl: 4, rb: 2, u: 3, wg: 64 }, 'subgroups', PAGED, 'f16', false],
    ['prefetch: 2 lanes, 1 row, 5 splits, portable, paged f16', { tl: 2, rb: 1, wg: 32, splits: 5 }, 'portable', PAGED, 'f16', false],
    ['prefetch: 8 lanes, 8 rows, 1 key in flight, portable, flat f32', { tl: 8, rb: 8, u: 1, splits: 1 }, 'portable', FLAT, 'f32', false],
    ['prefetch: 8 lanes, 2 rows, 3 splits, subgroups, flat bf16', { tl: 8, rb: 2, wg: 64, splits: 3 }, 'subgroups', FLAT, 'bf16', false],
    ['prefetch, unrolled: 8 lanes, 2 rows, 2 keys in flight, subgroups, paged f16', { tl: 8, rb: 2, u: 2, wg: 64 }, 'subgroups', PAGED, 'f16', true],
  ] as const;
  it.each(prefetched)('%s', async (_l, force, tier, p, dtype, unroll) => {
    process.env.PMETAL_DECODE_PREFETCH = '1';
    if (unroll) process.env.PMETAL_DECODE_UNROLL = '1';
    try {
      await check(force, tier, p, dtype, unroll, true);
    } finally {
      delete process.env.PMETAL_DECODE_PREFETCH;
      delete process.env.PMETAL_DECODE_UNROLL;
    }
  });

  it('PMETAL_DECODE_ATTENTION_VARIANT=latency (splits of one workgroup step): within the bound, flat and paged', async () => {
    process.env.PMETAL_DECODE_ATTENTION_VARIANT = 'latency';
    try {
      await check({ tl: 8, rb: 1, u: 4 }, 'portable', FLAT, 'f16', false);
      await check({ tl: 4, rb: 1, u: 4, wg: 64 }, 'portable', PAGED, 'f32', false);
    } finally {
      delete process.env.PMETAL_DECODE_ATTENTION_VARIANT;
    }
  });

  it('PMETAL_DECODE_ATTENTION_VARIANT=single (one split, finished in the stream kernel): within the bound, flat and paged, both tiers', async () => {
    process.env.PMETAL_DECODE_ATTENTION_VARIANT = 'single';
    try {
      await check({ tl: 8, rb: 1 }, 'portable', FLAT, 'f16', false);
      await check({ tl: 4, rb: 1, wg: 64 }, 'subgroups', PAGED, 'f32', false);
      await check({ tl: 8, rb: 2, u: 2 }, 'subgroups', FLAT, 'bf16', false);
    } finally {
      delete process.env.PMETAL_DECODE_ATTENTION_VARIANT;
    }
  });

  // ≥ 32 teams a workgroup: the combine's max and sums run as trees (decode_stream.wgsl TREE),
  // for partials (several splits) and for rows finished in place (one split, DIRECT).
  it.each([
    ['32 teams (256 invocations, 8 lanes), 3 splits', { tl: 8, rb: 1, wg: 256, splits: 3 }, 'subgroups', FLAT, 'f16'],
    ['32 teams, one split (DIRECT)', { tl: 8, rb: 1, wg: 256, splits: 1 }, 'portable', PAGED, 'f32'],
    ['64 teams (256 invocations, 4 lanes), 2 rows, one split', { tl: 4, rb: 2, wg: 256, splits: 1 }, 'subgroups', PAGED, 'bf16'],
    ['64 teams, 2 keys in flight, 2 splits', { tl: 4, rb: 1, wg: 256, u: 2, splits: 2 }, 'portable', FLAT, 'bf16'],
  ] as [string, Partial<StreamPlan>, 'subgroups' | 'portable', DecodeProblem, FloatDType][])('tree combine: %s', async (_l, force, tier, p, dtype) => {
    expect(force.wg! / force.tl!).toBeGreaterThanOrEqual(32);
    await check(force, tier, p, dtype, false);
  });

  it('PMETAL_DECODE_PREFETCH accepts 0 or 1 only: anything else is an OptionsError naming it', () => {
    process.env.PMETAL_DECODE_PREFETCH = 'yes';
    try {
      expect(() => decodePrefetch()).toThrow(/^\[decode_attention\] PMETAL_DECODE_PREFETCH: expected 0 or 1, got 'yes'$/);
      process.env.PMETAL_DECODE_PREFETCH = '0';
      expect(decodePrefetch()).toBe(false);
    } finally {
      delete process.env.PMETAL_DECODE_PREFETCH;
    }
    expect(decodePrefetch()).toBe(false);
  });

  async function check(force: Partial<StreamPlan>, tier: 'subgroups' | 'portable', p: DecodeProblem, dtype: FloatDType, unroll: boolean, prefetch = false) {
    if (tier === 'subgroups' && (gpu().adapter.subgroupMinSize ?? 0) < (force.tl ?? 1)) return;
    const h = decodeInputs(p, dtype as FloatDType, 11);
    const options = dec.options.parse(decodeOptionsOf(p));
    const refs: Record<string, RefTensor> = {};
    for (const [k, t] of Object.entries(h)) refs[k] = { dtype: t.dtype, shape: t.shape, data: toFloat64(t.dtype, t.data) };
    const want = dec.reference(refs, options) as Record<string, RefTensor>;
    const bounds = dec.bounds(refs, options, want) as Record<string, Float64Array>;
    const ins: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(h)) ins[k] = gpu().tensor(t.data, t.shape, t.dtype);
    const outs = dec.check(ins, options) as Record<string, { dtype: 'f32'; shape: number[] }>;
    gpu().rt.trace = [];
    const got = launchDecode(ctx, tier, ins, options, outs, force);
    // The forced plan reached the kernel; one split is finished by the stream kernel alone (DIRECT).
    const trace = gpu().rt.trace!;
    expect(trace[0].pipeline.defines).toMatchObject({ TL: force.tl, SUBGROUPS: tier === 'subgroups', ROLL_FOR: !unroll, PREFETCH: prefetch, ...(force.rb ? { RB: force.rb } : {}), ...(force.wg ? { WG: force.wg } : {}) });
    const direct = trace[0].pipeline.defines?.DIRECT === true;
    expect(trace.map((d) => d.pipeline.shader)).toEqual(direct ? ['attention/decode_stream.wgsl'] : ['attention/decode_stream.wgsl', 'attention/decode_reduce.wgsl']);
    if (force.splits !== undefined) expect(direct).toBe(force.splits === 1);
    gpu().rt.trace = undefined;
    for (const name of ['o', 'lse']) {
      const c = compare(toFloat64(got[name].dtype, await gpu().read(got[name])), want[name].data, bounds[name]);
      expect(c.firstBad, name).toBeUndefined();
    }
    for (const t of [...Object.values(ins), ...Object.values(got)]) t.dispose();
  }
});

/** The dims of a decode step of B sequences of one new token at context `ctx` (paged: blocks of 16). */
const issueDims = (b: number, ctx: number, paged: boolean) =>
  decodeDims(
    'decode_attention',
    { dtype: 'f16', shape: [b, 1, 32, 128] },
    { dtype: 'f16', shape: paged ? [b * (ctx / 16), 16, 8, 128] : [b, 8, ctx, 128] },
    { dtype: 'f16', shape: paged ? [b * (ctx / 16), 16, 8, 128] : [b, 8, ctx, 128] },
    { dtype: 'i32', shape: [b] },
    paged ? { dtype: 'i32', shape: [b, ctx / 16] } : undefined,
  );

describe('decode stream plan', () => {
  // An H100 through Dawn: subgroups of 32, 48 KiB of workgroup memory, 132 SMs.
  const h100 = { storage: 49152, invocations: 1024 };

  it.each([1, 16].flatMap((b) => [8192, 32768].flatMap((c) => [false, true].map((pg) => [b, c, pg] as const))))('B=%i context %i paged=%s: one row block (each K/V byte read once per kv head), 16-lane teams of one word, ≥ 4 workgroups an SM (or splits of the minimum length)', (b, c, paged) => {
    const dm = issueDims(b, c, paged);
    const p = streamPlan(dm, 'f16', h100, 32, 'balanced');
    expect(p).toMatchObject({ tl: 16, nw: 1, nwv: 1, rb: 4, blocks: 1, subgroups: true });
    const workgroups = p.splits * b * dm.hkv * p.blocks;
    expect(workgroups).toBeGreaterThanOrEqual(Math.min(4 * 132, b * dm.hkv * (c / DECODE_VARIANTS.balanced.minKeys)));
    expect(p.len).toBeGreaterThanOrEqual(DECODE_VARIANTS.balanced.minKeys);
    expect(p.splits * p.len).toBeGreaterThanOrEqual(c);
    expect((p.splits - 1) * p.len).toBeLessThan(c);
  });

  it('fits WebGPU\'s default 16 KiB of workgroup memory for every head-dim class, dtype and tier', () => {
    for (const [d, dv] of [[8, 8], [40, 24], [64, 64], [128, 128], [256, 256], [24, 256]]) {
      for (const dtype of ['f32', 'f16', 'bf16'] as const) {
        for (const sg of [undefined, 8, 32]) {
          const dm = decodeDims('decode_attention', { dtype, shape: [2, 16, 32, d] }, { dtype, shape: [2, 1, 64, d] }, { dtype, shape: [2, 1, 64, dv] }, { dtype: 'i32', shape: [2] });
          const p = streamPlan(dm, dtype, { storage: 16384, invocations: 256 }, sg, 'balanced');
          expect(streamBytes(p, dtype)).toBeLessThanOrEqual(16384);
          // q and acc stay within 128 floats a lane.
          expect(p.rb * (p.nw + p.nwv) * (dtype === 'f32' ? 4 : 8)).toBeLessThanOrEqual(128);
        }
      }
    }
  });

  it('single: one split of 1024 invocations (4 keys in flight a team) on an H100, fewer where the adapter allows fewer', () => {
    expect(streamPlan(issueDims(1, 544, false), 'f16', h100, 32, 'single')).toMatchObject({ splits: 1, wg: 1024, u: 4, rb: 1, tl: 16 });
    expect(streamPlan(issueDims(1, 8192, false), 'f16', { storage: 16384, invocations: 256 }, 32, 'single')).toMatchObject({ splits: 1, wg: 256 });
  });

  it('auto (the default) groups a kv head\'s query heads where that grid has ≥ 256 workgroups, else one head a workgroup', () => {
    const at = (b: number, ctx: number) => streamPlan(issueDims(b, ctx, false), 'f16', h100, 32, 'auto');
    // 8192 keys: B = 1 → 8 kv heads × 64 splits = 512 workgroups, grouped (4 rows, 1 key in flight).
    expect(at(1, 8192)).toMatchObject({ rb: 4, blocks: 1, u: 1, splits: 64 });
    expect(at(16, 8192)).toMatchObject({ rb: 4, blocks: 1, u: 1 });
    // 544 keys (the 1B bench's step): B = 1 has 8 × 5 = 40 grouped workgroups → rows1; B = 16 640 → grouped.
    expect(at(1, 544)).toMatchObject({ rb: 1, blocks: 4, u: 1 });
    expect(at(16, 544)).toMatchObject({ rb: 4, blocks: 1, u: 1 });
  });

  it('PMETAL_DECODE_ATTENTION_VARIANT picks the split count and keys in flight; anything else is an OptionsError naming it', () => {
    const saved = process.env.PMETAL_DECODE_ATTENTION_VARIANT;
    try {
      const dm = issueDims(1, 32768, false);
      const plans = Object.fromEntries((['rows1', 'balanced', 'wide', 'deep'] as const).map((v) => {
        process.env.PMETAL_DECODE_ATTENTION_VARIANT = v;
        return [v, streamPlan(dm, 'f16', h100, 32, decodeVariant())];
      }));
      expect(plans.wide.splits).toBeGreaterThan(plans.balanced.splits);
      expect([plans.balanced.u, plans.deep.u]).toEqual([2, 4]);
      // rows1: one query head a workgroup (the 4 heads of a kv head in 4 row blocks), 1 key in flight.
      expect(plans.rows1).toMatchObject({ rb: 1, blocks: 4, u: 1 });
      // latency at the 1B bench's 544 keys (D = 64: 8-lane teams, 16 a workgroup, 4 keys each):
      // splits of one 64-key step, 9 of them; at 32768 keys the 2112-workgroup cap holds.
      process.env.PMETAL_DECODE_ATTENTION_VARIANT = 'latency';
      const small = decodeDims('decode_attention', { dtype: 'f16', shape: [1, 1, 32, 64] }, { dtype: 'f16', shape: [1, 8, 544, 64] }, { dtype: 'f16', shape: [1, 8, 544, 64] }, { dtype: 'i32', shape: [1] });
      expect(streamPlan(small, 'f16', h100, 32, decodeVariant())).toMatchObject({ rb: 1, blocks: 4, u: 4, tl: 8, len: 64, splits: 9 });
      const long = streamPlan(dm, 'f16', h100, 32, decodeVariant());
      expect(long.splits * 8 * long.blocks).toBeLessThanOrEqual(2112);
      delete process.env.PMETAL_DECODE_ATTENTION_VARIANT;
      expect(decodeVariant()).toBe('auto');
      process.env.PMETAL_DECODE_ATTENTION_VARIANT = 'fast';
      expect(() => decodeVariant()).toThrow(OptionsError);
      expect(() => decodeVariant()).toThrow(/^\[decode_attention\] PMETAL_DECODE_ATTENTION_VARIANT: expected one of auto, group, rows1, balanced, wide, deep, short, latency, single, got 'fast'$/);
    } finally {
      if (saved === undefined) delete process.env.PMETAL_DECODE_ATTENTION_VARIANT;
      else process.env.PMETAL_DECODE_ATTENTION_VARIANT = saved;
    }
  });
});
