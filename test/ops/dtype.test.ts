import { describe, expect, it } from 'vitest';
import { bf16ToNumber, encodeFloat, f16ToNumber, f32Bits, f32BitsToBf16, f32BitsToF16, numberToBf16, numberToF16 } from '../../src/dtype.js';

const isNaN16 = (b: number, expBits: number, manBits: number) => ((b >>> manBits) & ((1 << expBits) - 1)) === (1 << expBits) - 1 && (b & ((1 << manBits) - 1)) !== 0;

describe.each([
  { name: 'f16', dec: f16ToNumber, enc: numberToF16, fast: f32BitsToF16, expBits: 5, manBits: 10 },
  { name: 'bf16', dec: bf16ToNumber, enc: numberToBf16, fast: f32BitsToBf16, expBits: 8, manBits: 7 },
])('$name: all 65536 bit patterns', ({ name, dec, enc, fast, expBits, manBits }) => {
  it('decode → encode round-trips every pattern (NaN stays NaN), through both encoders', () => {
    let bad = 0;
    for (let b = 0; b < 65536; b++) {
      const v = dec(b);
      const e1 = enc(v);
      const e2 = fast(f32Bits(v));
      if (Number.isNaN(v)) {
        if (!isNaN16(e1, expBits, manBits) || !isNaN16(e2, expBits, manBits)) bad++;
      } else if (e1 !== b || e2 !== b) bad++;
    }
    expect(bad).toBe(0);
  });

  it('decodes exactly: bf16 is the top half of f32; f16 is monotone with the right extremes', () => {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let b = 0; b < 65536; b++) {
      const v = dec(b);
      if (name === 'bf16') {
        u[0] = b << 16;
        expect(Object.is(v, f[0]) || (Number.isNaN(v) && Number.isNaN(f[0]))).toBe(true);
      }
    }
    if (name === 'f16') {
      expect(dec(0x7bff)).toBe(65504);
      expect(dec(0x0001)).toBe(2 ** -24);
      expect(dec(0x0400)).toBe(2 ** -14);
      expect(dec(0x03ff)).toBe(2 ** -14 - 2 ** -24);
      expect(dec(0x7c00)).toBe(Infinity);
      expect(dec(0xfc00)).toBe(-Infinity);
      expect(Object.is(dec(0x8000), -0)).toBe(true);
      for (let b = 1; b < 0x7c00; b++) expect(dec(b)).toBeGreaterThan(dec(b - 1));
    }
  });

  it('rounds to nearest, ties to even, at every midpoint between adjacent finite values (both encoders)', () => {
    let bad = 0;
    const maxFinite = (((1 << expBits) - 2) << manBits) | ((1 << manBits) - 1);
    for (const sign of [0, 1 << (expBits + manBits)]) {
      for (let b = 0; b < maxFinite; b++) {
        const lo = dec(sign | b);
        const hi = dec(sign | (b + 1));
        const mid = (lo + hi) / 2; // exact in float64
        const even = b % 2 === 0 ? b : b + 1;
        const want = sign | even;
        if (enc(mid) !== want) bad++;
        // The f32 path sees the midpoint only where f32 holds it exactly (always for these formats).
        if (Math.fround(mid) === mid && fast(f32Bits(mid)) !== want) bad++;
        // Just off the midpoint rounds to the nearer neighbour.
        const below = lo + (hi - lo) * 0.4999;
        const above = lo + (hi - lo) * 0.5001;
        if (enc(below) !== (sign | b) || enc(above) !== (sign | (b + 1))) bad++;
      }
    }
    expect(bad).toBe(0);
  });

  it('overflows to infinity exactly at the rounding threshold', () => {
    const maxFinite = (((1 << expBits) - 2) << manBits) | ((1 << manBits) - 1);
    const max = dec(maxFinite);
    const ulp = max - dec(maxFinite - 1);
    const inf = ((1 << expBits) - 1) << manBits;
    expect(enc(max + ulp / 2)).toBe(inf);
    expect(enc(max + ulp / 2 - ulp / 1024)).toBe(maxFinite);
    expect(fast(f32Bits(max + ulp / 2))).toBe(inf);
    expect(enc(Infinity)).toBe(inf);
    expect(enc(-Infinity)).toBe(inf | (1 << (expBits + manBits)));
  });
});

describe('f32 → 16-bit fast path against the exact encoder on random f32 patterns', () => {
  it('agrees on 200k random patterns including subnormals', () => {
    let s = 12345;
    const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0));
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    let bad = 0;
    for (let i = 0; i < 200_000; i++) {
      u[0] = next();
      if (i % 4 === 0) u[0] = (u[0] & 0x80ffffff) | ((100 + (next() % 20)) << 23); // f16 subnormal range
      const v = f[0];
      if (Number.isNaN(v)) continue;
      if (f32BitsToF16(u[0]) !== encodeFloat(v, 5, 10)) bad++;
      if (f32BitsToBf16(u[0]) !== encodeFloat(v, 8, 7)) bad++;
    }
    expect(bad).toBe(0);
  });
});
