// The metal router: PMetal's KernelDispatch rule for gemm (src/backend/metal/router.ts) as a
// pure function over its edges, the chip name rule, and the decision of real backend
// instances on every emulated chip M1..M5 × base/Pro/Max/Ultra (host runtime: routing only,
// nothing runs).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackend } from '../../src/backend/load.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { classifyChipName, emulatedChip } from '../../src/backend/metal/chip.js';
import { METAL_LAUNCHERS } from '../../src/backend/metal/launchers/index.js';
import { GEMM_THRESHOLDS, gemmThreshold, routeGemm } from '../../src/backend/metal/router.js';
import { gemmDims } from '../../src/ops/gemm/dims.js';
import { TierUnavailableError } from '../../src/errors.js';

/** Chip emulation is the host runtime's (Linux); on a Mac the real chip is used. */
const HOST = process.platform !== 'darwin';
const GENS = ['M1', 'M2', 'M3', 'M4', 'M5'] as const;
const TIERS = [
  ['', 'base'],
  [' Pro', 'pro'],
  [' Max', 'max'],
  [' Ultra', 'ultra'],
] as const;
const CHIPS = GENS.flatMap((g) => TIERS.map(([s, tier]) => ({ name: `${g}${s}`, gen: g, tier })));
const FAMILY = { M1: 'apple7', M2: 'apple8', M3: 'apple9', M4: 'apple9', M5: 'apple10' } as const;

describe('chip name rule (PMetal)', () => {
  it.each([
    ['Apple M5 Max', 'apple10', 'max', true],
    ['Apple M4 Pro', 'apple9', 'pro', false],
    ['Apple M3 Ultra', 'apple9', 'ultra', false],
    ['Apple A17 Pro', 'apple9', 'pro', false],
    ['Apple M2', 'apple8', 'base', false],
    ['Apple A16', 'apple8', 'base', false],
    ['Apple A15', 'apple8', 'base', false],
    ['Apple M1 Max', 'apple7', 'max', false],
    ['Apple A14', 'apple7', 'base', false],
    ['AMD Radeon Pro 5500M', 'unknown', 'pro', false],
    ['Apple M10', 'unknown', 'base', false],
  ] as const)('%s → %s %s', (name, family, tier, nax) => {
    expect(classifyChipName(name)).toEqual({ family, tier, hasNax: nax });
  });
});

describe('routeGemm (pure): PMetal KernelDispatch thresholds', () => {
  const max = emulatedChip('M5 Max');
  const ultra = emulatedChip('M5 Ultra');
  const pro = emulatedChip('M5 Pro');
  const base = emulatedChip('M5');

  it('has the thresholds of DESIGN.md; bf16 uses the f16 column', () => {
    expect(GEMM_THRESHOLDS).toEqual({
      ultra: { f16: 524_288, f32: 1_048_576 },
      max: { f16: 524_288, f32: 1_048_576 },
      pro: { f16: 1_048_576, f32: 2_097_152 },
      base: { f16: 2_097_152, f32: 4_194_304 },
    });
    for (const c of [max, pro, base]) expect(gemmThreshold(c, 'bf16', 96, 96)).toBe(gemmThreshold(c, 'f16', 96, 96));
  });

  // N = K = 64 (K % 128 ≠ 0): no halving. m·n·k exactly at the threshold stays metal3;
  // one more row (m+1) is above it.
  it.each([
    ['max', 'f16', max, 524_288],
    ['ultra', 'f16', ultra, 524_288],
    ['pro', 'f16', pro, 1_048_576],
    ['base', 'f16', base, 2_097_152],
    ['max', 'f32', max, 1_048_576],
    ['ultra', 'f32', ultra, 1_048_576],
    ['pro', 'f32', pro, 2_097_152],
    ['base', 'f32', base, 4_194_304],
    ['pro', 'bf16', pro, 1_048_576],
  ] as const)('%s %s: exactly at the threshold → metal3, just above → metal4', (_t, dtype, chip, thr) => {
    const n = 64;
    const k = 64;
    const m = thr / (n * k);
    expect(Number.isInteger(m)).toBe(true);
    expect(gemmThreshold(chip, dtype, n, k)).toBe(thr);
    expect(routeGemm(chip, dtype, m, n, k)).toBe('metal3');
    expect(routeGemm(chip, dtype, m + 1, n, k)).toBe('metal4');
    expect(routeGemm(chip, dtype, m - 1, n, k)).toBe('metal3');
  });

  it('halves the threshold when N % 64 == 0 and K % 128 == 0', () => {
    // max f16: 524,288 → 262,144. m·64·128 = 262,144 at m = 32.
    expect(gemmThreshold(max, 'f16', 64, 128)).toBe(262_144);
    expect(routeGemm(max, 'f16', 32, 64, 128)).toBe('metal3'); // exactly at the halved threshold
    expect(routeGemm(max, 'f16', 33, 64, 128)).toBe('metal4');
    // K % 128 ≠ 0 (K = 96): no halving, 33·64·96 = 202,752 < 524,288
    expect(gemmThreshold(max, 'f16', 64, 96)).toBe(524_288);
    expect(routeGemm(max, 'f16', 33, 64, 96)).toBe('metal3');
    expect(routeGemm(max, 'f16', 86, 64, 96)).toBe('metal4'); // 528,384 > 524,288
    // N % 64 ≠ 0 (N = 96), K % 128 == 0: no halving
    expect(gemmThreshold(pro, 'f32', 96, 256)).toBe(2_097_152);
    expect(gemmThreshold(pro, 'f32', 128, 256)).toBe(1_048_576);
    expect(gemmThreshold(base, 'f32', 128, 256)).toBe(2_097_152);
  });

  it('K % 32 ≠ 0 is always metal3 (NAX is silently wrong there)', () => {
    expect(routeGemm(ultra, 'f16', 4096, 4096, 4096)).toBe('metal4');
    expect(routeGemm(ultra, 'f16', 4096, 4096, 4095)).toBe('metal3');
    expect(routeGemm(ultra, 'f16', 4096, 4096, 4112)).toBe('metal3'); // 4112 % 32 = 16
    expect(routeGemm(ultra, 'f32', 4096, 4096, 4128)).toBe('metal4'); // 4128 % 32 = 0
  });

  it('M = 1 (a GEMV) is metal3; M = 2 may be metal4', () => {
    expect(routeGemm(ultra, 'f16', 1, 8192, 8192)).toBe('metal3');
    expect(routeGemm(ultra, 'f16', 2, 8192, 8192)).toBe('metal4');
  });

  it('N < 64 or K < 64 is metal3', () => {
    expect(routeGemm(ultra, 'f16', 65536, 63, 4096)).toBe('metal3');
    expect(routeGemm(ultra, 'f16', 65536, 64, 4096)).toBe('metal4');
    expect(routeGemm(ultra, 'f16', 65536, 4096, 32)).toBe('metal3');
    expect(routeGemm(ultra, 'f16', 65536, 4096, 64)).toBe('metal4');
  });

  it('a chip without NAX is always metal3', () => {
    for (const name of ['M1 Ultra', 'M2 Max', 'M3 Pro', 'M4 Max', 'A17 Pro', 'Unknown GPU']) {
      expect(routeGemm(emulatedChip(name), 'f16', 4096, 4096, 4096)).toBe('metal3');
    }
  });

  it('takes M, N, K from the shapes and transA/transB', () => {
    expect(gemmDims([5, 7], [7, 9], false, false)).toMatchObject({ m: 5, n: 9, k: 7 });
    expect(gemmDims([7, 5], [7, 9], true, false)).toMatchObject({ m: 5, n: 9, k: 7 });
    expect(gemmDims([5, 7], [9, 7], false, true)).toMatchObject({ m: 5, n: 9, k: 7 });
    expect(gemmDims([3, 7, 5], [2 * 0 + 9, 7], true, true)).toMatchObject({ m: 5, n: 9, k: 7 });
  });
});

/** Representative gemms: [m, n, k, transA, transB]; m·n·k and the alignment set the tier. */
const SHAPES: [number, number, number, boolean, boolean][] = [
  [64, 64, 128, false, false], // 524,288, halved: above max/ultra f16 (262,144), at pro f16 (524,288)
  [128, 128, 128, false, false], // 2,097,152, halved: metal4 on every M5 tier for f16
  [96, 96, 128, false, false], // 1,179,648, no halving: above max/pro f16, below base f16
  [1, 1024, 1024, false, false], // GEMV: metal3
  [256, 256, 100, false, false], // K % 32 ≠ 0: metal3
  [512, 48, 512, false, false], // N < 64: metal3
];

describe.skipIf(!HOST).each(CHIPS)('emulated $name: backend routing', ({ name, gen, tier }) => {
  let be: KernelBackend;
  beforeAll(async () => {
    be = await createBackend('metal', { metal: { chip: name } });
  });
  afterAll(() => be?.dispose());

  it('reports the chip by the name rule', () => {
    const caps = be.capabilities();
    expect(caps.device).toContain(name);
    expect(caps.features).toContain(FAMILY[gen]);
    expect(caps.features).toContain(`tier-${tier}`);
    expect(caps.features.includes('nax')).toBe(gen === 'M5');
    expect(caps.tiers.includes('metal4')).toBe(gen === 'M5' && Object.values(caps.ops).some((ts) => ts.some((t) => t.tier === 'metal4')));
    expect(caps.tiers).toContain('metal3');
  });

  it.skipIf(!METAL_LAUNCHERS.gemm)('routes gemm by the rule, per dtype and shape', () => {
    const chip = emulatedChip(name);
    for (const dtype of ['f16', 'bf16', 'f32'] as const) {
      for (const [m, n, k, transA, transB] of SHAPES) {
        const a = be.zeros(transA ? [k, m] : [m, k], dtype);
        const b = be.zeros(transB ? [n, k] : [k, n], dtype);
        try {
          const want = routeGemm(chip, dtype, m, n, k);
          expect(be.route('gemm', { a, b }, undefined, { transA, transB }), `${dtype} ${m}x${n}x${k}`).toBe(want);
          if (gen !== 'M5') expect(want).toBe('metal3');
        } finally {
          a.dispose();
          b.dispose();
        }
      }
    }
  });

  it.skipIf(!METAL_LAUNCHERS.gemm)('matches the expected table for f16', () => {
    const expected: Record<string, string[]> = {
      // [64x64x128, 128x128x128, 96x96x128]
      max: ['metal4', 'metal4', 'metal4'],
      ultra: ['metal4', 'metal4', 'metal4'],
      pro: ['metal3', 'metal4', 'metal4'],
      base: ['metal3', 'metal4', 'metal3'],
    };
    SHAPES.slice(0, 3).forEach(([m, n, k], i) => {
      const a = be.zeros([m, k], 'f16');
      const b = be.zeros([k, n], 'f16');
      expect(be.route('gemm', { a, b }), `${m}x${n}x${k}`).toBe(gen === 'M5' ? expected[tier][i] : 'metal3');
      a.dispose();
      b.dispose();
    });
  });

  it.skipIf(!METAL_LAUNCHERS.gemm)('overrides: per call and global; metal4 without NAX is TierUnavailableError', () => {
    const a = be.zeros([128, 128], 'f16');
    const b = be.zeros([128, 128], 'f16');
    try {
      expect(be.route('gemm', { a, b }, { tier: 'metal3' })).toBe('metal3');
      if (gen === 'M5') {
        expect(be.route('gemm', { a: be.zeros([1, 128], 'f16'), b }, { tier: 'metal4' })).toBe('metal4');
        be.setTier('gemm', 'metal3');
        expect(be.route('gemm', { a, b })).toBe('metal3');
        be.setTier('gemm', undefined);
        expect(be.route('gemm', { a, b })).toBe('metal4');
      } else {
        expect(() => be.route('gemm', { a, b }, { tier: 'metal4' })).toThrow(TierUnavailableError);
        expect(() => be.route('gemm', { a, b }, { tier: 'metal4' })).toThrow(/NAX/);
        be.setTier('*', 'metal4');
        expect(() => be.route('gemm', { a, b })).toThrow(TierUnavailableError);
        be.setTier('*', undefined);
        expect(be.route('gemm', { a, b })).toBe('metal3');
      }
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});

describe.skipIf(!METAL_LAUNCHERS.gemm || !HOST)('gemm routing through run(): transA/transB decide M and K', () => {
  it('a transposed A of [K, M] = [128, 33] is M = 33, K = 128 (metal4 on an M5 Max), not K = 33', async () => {
    const be = await createBackend('metal', { metal: { chip: 'M5 Max' } });
    const launch = vi.spyOn(METAL_LAUNCHERS.gemm!, 'launch').mockImplementation((ctx, _tier, _i, _o, outs) => ({ y: ctx.output(outs.y) }));
    try {
      const a = be.zeros([128, 33], 'f16');
      const b = be.zeros([128, 64], 'f16');
      be.gemm({ a, b }, { transA: true }).y.dispose();
      expect(launch.mock.calls[0][1]).toBe('metal4'); // 33·64·128 = 270,336 > 262,144 (halved)
      const a2 = be.zeros([33, 128], 'f16');
      const b2 = be.zeros([64, 128], 'f16');
      be.gemm({ a: a2, b: b2 }, { transB: true }).y.dispose();
      expect(launch.mock.calls[1][1]).toBe('metal4');
      be.gemm({ a: a2, b: be.zeros([128, 64], 'f16') }).y.dispose();
      expect(launch.mock.calls[2][1]).toBe('metal4');
      // without the transpose the same a is M = 128, K = 33: K % 32 ≠ 0 → metal3
      be.gemm({ a, b: be.zeros([33, 64], 'f16') }).y.dispose();
      expect(launch.mock.calls[3][1]).toBe('metal3');
    } finally {
      launch.mockRestore();
      be.dispose();
    }
  });
});

describe.skipIf(!HOST)('routing of ops that do not depend on shape', () => {
  it('takes the best tier the chip has and the op has a kernel for', async () => {
    for (const chip of ['M5 Max', 'M3']) {
      const be = await createBackend('metal', { metal: { chip } });
      const nax = chip.startsWith('M5');
      for (const [op, tiers] of Object.entries(be.capabilities().ops)) {
        if (op === 'gemm') continue;
        const launcher = METAL_LAUNCHERS[op as keyof typeof METAL_LAUNCHERS]!;
        const has4 = launcher.tiers('f16', emulatedChip('M5')).includes('metal4');
        expect(tiers[0].tier, `${chip} ${op}`).toBe(nax && has4 ? 'metal4' : 'metal3');
      }
      be.dispose();
    }
  });

  it('forcing metal4 where the op has no metal4 kernel is TierUnavailableError; on a chip without NAX it names NAX', async () => {
    const m3 = await createBackend('metal', { metal: { chip: 'M3' } });
    const x = m3.zeros([2, 8], 'f32');
    expect(() => m3.route('softmax', { x }, { tier: 'metal4' })).toThrow(TierUnavailableError);
    expect(() => m3.route('softmax', { x }, { tier: 'metal4' })).toThrow(/neural accelerators \(NAX/);
    expect(() => m3.softmax({ x }, {}, { tier: 'metal4' })).toThrow(TierUnavailableError);
    m3.dispose();
    const m5 = await createBackend('metal', { metal: { chip: 'M5' } });
    const y = m5.zeros([2, 8], 'f32');
    expect(() => m5.route('softmax', { x: y }, { tier: 'metal4' })).toThrow(TierUnavailableError);
    expect(() => m5.route('softmax', { x: y }, { tier: 'metal4' })).toThrow(/\[softmax\] has no Metal 4 kernel: its metal3 kernel is what runs on .*M5.*metal4 tier are .*quantized_gemm/);
    expect(m5.route('softmax', { x: y })).toBe('metal3');
    m5.dispose();
  });
});
