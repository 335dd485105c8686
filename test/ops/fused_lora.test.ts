import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { ShapeError } from '../../src/errors.js';
import { dropThreshold, dropoutMask, mix32 } from '../../src/ops/fused_lora_forward/dropout.js';

const cpu = new CpuBackend();

/** lowbias32 written again with BigInt arithmetic: an independent check of the Math.imul form. */
function mix32Big(v: number): number {
  const M = (1n << 32n) - 1n;
  let x = BigInt(v >>> 0);
  x ^= x >> 16n;
  x = (x * 0x7feb352dn) & M;
  x ^= x >> 15n;
  x = (x * 0x846ca68bn) & M;
  x ^= x >> 16n;
  return Number(x);
}

describe('LoRA dropout mask', () => {
  it('mix32 is lowbias32', () => {
    for (const v of [0, 1, 2, 0x9e3779b9, 0xffffffff, 123456789, 2 ** 31]) expect(mix32(v)).toBe(mix32Big(v));
  });

  it('drops a fraction p, depends on the seed, and is the same every time', () => {
    const n = 50000;
    for (const p of [0.1, 0.5, 0.9]) {
      const m = dropoutMask(n, p, 42);
      const dropped = n - m.reduce((a, b) => a + b, 0);
      // Binomial(n, p): 5 standard deviations.
      expect(Math.abs(dropped / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
      expect(dropoutMask(n, p, 42)).toEqual(m);
      const other = dropoutMask(n, p, 43);
      let differ = 0;
      for (let e = 0; e < n; e++) differ += m[e] !== other[e] ? 1 : 0;
      expect(differ / n).toBeGreaterThan(2 * p * (1 - p) - 0.01);
    }
    expect(dropoutMask(10, 0, 1).every((k) => k === 1)).toBe(true);
    expect(dropThreshold(0.5)).toBe(2 ** 31);
  });
});

describe('fused_lora input checks', () => {
  const f = (shape: number[]) => cpu.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const base = () => ({ x: f([3, 8]), weight: f([5, 8]), loraA: f([2, 8]), loraB: f([5, 2]) });
  const bwd = () => ({ dy: f([3, 5]), ...base(), xa: f([3, 2]) });
  it.each([
    ['loraB of another rank', () => cpu.fusedLoraForward({ ...base(), loraB: f([5, 3]) }), ShapeError, /^\[fused_lora_forward\] loraB: expected f32\[5,2\], got f32\[5,3\]$/],
    ['weight of another K', () => cpu.fusedLoraForward({ ...base(), weight: f([5, 9]) }), ShapeError, /^\[fused_lora_forward\] weight: expected f32\[5,8\], got f32\[5,9\]$/],
    ['xa of another dtype', () => cpu.fusedLoraBackward({ ...bwd(), xa: cpu.tensor(new Uint16Array(6), [3, 2], 'f16') }), Error, /^\[fused_lora_backward\] xa: expected f32\[3,2\], got f16\[3,2\]$/],
    ['dAIn without accumulate', () => cpu.fusedLoraBackward({ ...bwd(), dAIn: f([2, 8]) }), ShapeError, /^\[fused_lora_backward\] dAIn: given without accumulate/],
    ['accumulate without dBIn', () => cpu.fusedLoraBackward({ ...bwd(), dAIn: f([2, 8]) }, { accumulate: true }), ShapeError, /^\[fused_lora_backward\] dBIn: required input is missing$/],
  ])('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });

  it('accumulate adds the batch gradient to dAIn / dBIn', async () => {
    const b = bwd();
    const fill = (t: number[], v: (k: number) => number) => cpu.tensor(Float32Array.from({ length: t.reduce((a, c) => a * c, 1) }, (_, k) => v(k)), t);
    const i = { ...b, dy: fill([3, 5], (k) => (k % 3) - 1), x: fill([3, 8], (k) => (k % 5) - 2), loraA: fill([2, 8], (k) => (k % 4) - 1.5), loraB: fill([5, 2], (k) => (k % 2) + 0.5), weight: fill([5, 8], (k) => k % 2) };
    const plain = cpu.fusedLoraBackward(i, { alpha: 4 });
    const acc = cpu.fusedLoraBackward({ ...i, dAIn: fill([2, 8], (k) => k), dBIn: fill([5, 2], (k) => -k) }, { alpha: 4, accumulate: true });
    const pa = await cpu.read(plain.dA);
    const aa = await cpu.read(acc.dA);
    const pb = await cpu.read(plain.dB);
    const ab = await cpu.read(acc.dB);
    expect(Array.from(aa)).toEqual(Array.from(pa).map((v, k) => v + k));
    expect(Array.from(ab)).toEqual(Array.from(pb).map((v, k) => v - k));
  });
});
