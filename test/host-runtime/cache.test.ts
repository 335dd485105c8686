// The disk cache of compiled kernels and the emulated chips.
import { describe, expect, it } from 'vitest';
import { loadNative } from './helpers.js';

const native = loadNative();

describe('MSL host runtime: disk cache', () => {
  it('a second compile of the same source is a cache hit', async () => {
    if (native.platform !== 'host') return;
    const dev = native.openDevice();
    const tag = `${process.pid}_${Date.now()}`;
    const src = `#include <metal_stdlib>\nusing namespace metal;\n// ${tag}\nkernel void k_${tag}(device float* o [[buffer(0)]], uint i [[thread_position_in_grid]]) { o[i] = float(i) * VALUE; }\n`;
    const t0 = performance.now();
    const a = await dev.compileLibrary(src, { defines: { VALUE: '2.0f' } });
    const t1 = performance.now();
    const b = await dev.compileLibrary(src, { defines: { VALUE: '2.0f' } });
    const t2 = performance.now();
    expect(a.cached).toBe(false);
    expect(b.cached).toBe(true);
    expect(t2 - t1).toBeLessThan(t1 - t0);
    // a different define is a different key
    const c = await dev.compileLibrary(src, { defines: { VALUE: '3.0f' } });
    expect(c.cached).toBe(false);
    const out = dev.buffer(16);
    await dev.run([{ pipeline: c.pipeline(`k_${tag}`), buffers: [{ index: 0, buffer: out }], grid: [1, 1, 1], threadgroup: [4, 1, 1] }]);
    expect(Array.from(new Float32Array(out.read().buffer))).toEqual([0, 3, 6, 9]);
  });
});

describe('chip emulation', () => {
  const gens: Array<[string, string, boolean]> = [
    ['M1', 'apple7', false],
    ['M2', 'apple8', false],
    ['M3', 'apple9', false],
    ['M4', 'apple9', false],
    ['M5', 'apple10', true],
  ];
  const tiers: Array<[string, string]> = [['', 'base'], [' Pro', 'pro'], [' Max', 'max'], [' Ultra', 'ultra']];
  for (const [gen, family, nax] of gens)
    for (const [suffix, tier] of tiers)
      it(`${gen}${suffix}`, () => {
        if (native.platform !== 'host') return;
        const info = native.openDevice({ chip: `${gen}${suffix}` }).info;
        expect(info).toEqual({
          name: `Apple ${gen}${suffix} (host emulation)`,
          family,
          tier,
          hasNax: nax,
          metal4: nax,
          maxThreadsPerThreadgroup: 1024,
          threadExecutionWidth: 32,
          host: true,
        });
      });

  it('PMETAL_METAL_CHIP picks the default chip; the option wins', () => {
    if (native.platform !== 'host') return;
    const old = process.env.PMETAL_METAL_CHIP;
    try {
      process.env.PMETAL_METAL_CHIP = 'M3 Pro';
      expect(native.openDevice().info.name).toBe('Apple M3 Pro (host emulation)');
      expect(native.openDevice({ chip: 'M2 Ultra' }).info.tier).toBe('ultra');
      delete process.env.PMETAL_METAL_CHIP;
      expect(native.openDevice().info.family).toBe('apple10');
    } finally {
      if (old === undefined) delete process.env.PMETAL_METAL_CHIP;
      else process.env.PMETAL_METAL_CHIP = old;
    }
  });

  it('an unknown chip is BAD_ARGUMENT', () => {
    if (native.platform !== 'host') return;
    expect(() => native.openDevice({ chip: 'M9 Mega' })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });
});
