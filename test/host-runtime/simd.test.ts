// Every SIMD-group function of the host runtime against a scalar model of 32-lane semantics.
import { describe, expect, it } from 'vitest';
import { compileTest, f32Buffer, i32Buffer, loadNative, readF32, readI32, rng, u32Bytes } from './helpers.js';

const dev = loadNative().openDevice();

type Lanes = number[];
const W = 32;
// scalar models over one SIMD-group's active lanes (all 32 active here)
const model: Array<(x: Lanes, lane: number) => number> = [
  (x) => x.reduce((a, b) => a + b, 0), // simd_sum
  (x, l) => x.slice(0, l + 1).reduce((a, b) => a + b, 0), // inclusive sum
  (x, l) => x.slice(0, l).reduce((a, b) => a + b, 0), // exclusive sum
  (x) => Math.max(...x),
  (x) => Math.min(...x),
  (x) => x.reduce((a, b) => a * ((b & 1) + 1), 1), // product
  (x) => x.reduce((a, b) => a & (b | 0x100), -1), // and
  (x) => x.reduce((a, b) => a | b, 0),
  (x) => x.reduce((a, b) => a ^ b, 0),
  (x) => x[5], // broadcast
  (x) => x[0], // broadcast_first
  (x, l) => x[(l * 7) % 32], // shuffle
  (x, l) => (l - 3 >= 0 ? x[l - 3] : x[l]), // shuffle_up
  (x, l) => (l + 5 < W ? x[l + 5] : x[l]), // shuffle_down
  (x, l) => x[l ^ 6], // shuffle_xor
  (x, l) => (l >= 4 ? x[l - 4] : -x[W - 4 + l]), // fill_up
  (x, l) => (l + 4 < W ? x[l + 4] : -x[l + 4 - W]), // fill_down
  (x, l) => { const j = l % 8, b = l - j; return j >= 2 ? x[b + j - 2] : -x[b + 8 - 2 + j]; }, // fill_up modulo 8
  (x, l) => { const j = l % 8, b = l - j; return j + 3 < 8 ? x[b + j + 3] : -x[b + j + 3 - 8]; }, // fill_down modulo 8
  (x) => (x.every((v) => v > -1000) ? 1 : 0),
  (x) => (x.every((v) => v > 0) ? 1 : 0),
  (x) => (x.some((v) => v === 7) ? 1 : 0),
  (x) => (x.some((v) => v === -12345) ? 1 : 0),
  (x) => x.reduce((a, v, i) => (v % 3 === 0 ? a | (1 << i) : a), 0) | 0, // ballot
  (_x, l) => (l === 0 ? 1 : 0), // simd_is_first
  (x, l) => x[(l - 3 + W) % W], // rotate_up
  (x, l) => x[(l + 3) % W], // rotate_down
  (x, l) => { const q = l & ~3; return x[q] + x[q + 1] + x[q + 2] + x[q + 3]; }, // quad_sum
  (x, l) => x[(l & ~3) | 2], // quad_shuffle
  (x, l) => x.slice(0, l + 1).reduce((a, b) => a * ((b & 1) + 1), 1), // inclusive product
  (x, l) => x.slice(0, l).reduce((a, b) => a * ((b & 1) + 1), 1), // exclusive product
  (_x, l) => l, // lane id
];
const names = [
  'simd_sum', 'simd_prefix_inclusive_sum', 'simd_prefix_exclusive_sum', 'simd_max', 'simd_min', 'simd_product',
  'simd_and', 'simd_or', 'simd_xor', 'simd_broadcast', 'simd_broadcast_first', 'simd_shuffle', 'simd_shuffle_up',
  'simd_shuffle_down', 'simd_shuffle_xor', 'simd_shuffle_and_fill_up', 'simd_shuffle_and_fill_down',
  'simd_shuffle_and_fill_up(modulo)', 'simd_shuffle_and_fill_down(modulo)', 'simd_all(true)', 'simd_all(false)',
  'simd_any(true)', 'simd_any(false)', 'simd_ballot', 'simd_is_first', 'simd_shuffle_rotate_up',
  'simd_shuffle_rotate_down', 'quad_sum', 'quad_shuffle', 'simd_prefix_inclusive_product',
  'simd_prefix_exclusive_product', 'thread_index_in_simdgroup',
];

describe('MSL host runtime: SIMD-group functions', () => {
  it('match the scalar model (int, 4 SIMD-groups x 3 threadgroups)', async () => {
    const lib = await compileTest(dev, 'simd.metal');
    const N = 3 * 128;
    const r = rng(7);
    const x = Array.from({ length: N }, (_, i) => (i % 29 === 3 ? 7 : Math.floor(r() * 200) - 60));
    const inp = i32Buffer(dev, x);
    const out = dev.buffer(model.length * N * 4);
    await dev.run([{ pipeline: lib.pipeline('simd_int'), buffers: [{ index: 0, buffer: inp }, { index: 1, buffer: out }], bytes: [{ index: 2, data: u32Bytes(N) }], grid: [3, 1, 1], threadgroup: [128, 1, 1] }]);
    const o = readI32(out);
    for (let f = 0; f < model.length; f++) {
      for (let i = 0; i < N; i++) {
        const base = i - (i % W);
        const lanes = x.slice(base, base + W);
        const want = model[f](lanes, i % W) | 0;
        if (o[f * N + i] !== want) throw new Error(`${names[f]}: thread ${i}: got ${o[f * N + i]}, want ${want}`);
      }
    }
  });

  it('reduce float4 vectors and half scalars', async () => {
    const lib = await compileTest(dev, 'simd.metal');
    const N = 64;
    const r = rng(3);
    const x = Array.from({ length: N * 4 }, () => Math.round((r() * 8 - 4) * 16) / 16);
    const inp = f32Buffer(dev, x);
    const out = dev.buffer(5 * N * 16);
    await dev.run([{ pipeline: lib.pipeline('simd_float'), buffers: [{ index: 0, buffer: inp }, { index: 1, buffer: out }], bytes: [{ index: 2, data: u32Bytes(N) }], grid: [1, 1, 1], threadgroup: [N, 1, 1] }]);
    const o = readF32(out);
    for (let i = 0; i < N; i++) {
      const base = i - (i % W);
      for (let c = 0; c < 4; c++) {
        const lanes = Array.from({ length: W }, (_, l) => x[(base + l) * 4 + c]);
        expect(o[(0 * N + i) * 4 + c]).toBe(lanes.reduce((a, b) => a + b, 0));
        expect(o[(1 * N + i) * 4 + c]).toBe(Math.max(...lanes));
        expect(o[(2 * N + i) * 4 + c]).toBe(Math.min(...lanes));
        expect(o[(3 * N + i) * 4 + c]).toBe(lanes.slice(0, i % W).reduce((a, b) => a + b, 0));
      }
      const lanesX = Array.from({ length: W }, (_, l) => x[(base + l) * 4]);
      expect(o[(4 * N + i) * 4 + 0]).toBe(lanesX.reduce((a, b) => a + b, 0)); // exact in half (multiples of 1/16, small)
      const l = i % W;
      expect(o[(4 * N + i) * 4 + 1]).toBe(x[(l + 1 < W ? i + 1 : i) * 4 + 1]);
      expect(o[(4 * N + i) * 4 + 2]).toBe(x[(base + 31) * 4 + 2]);
    }
  });

  it('lanes that returned are not part of the SIMD-group', async () => {
    const lib = await compileTest(dev, 'simd.metal');
    const x = Array.from({ length: 64 }, (_, i) => i + 1);
    const inp = i32Buffer(dev, x);
    const out = i32Buffer(dev, new Array(128).fill(-1));
    await dev.run([{ pipeline: lib.pipeline('simd_partial'), buffers: [{ index: 0, buffer: inp }, { index: 1, buffer: out }], bytes: [{ index: 2, data: u32Bytes(20) }], grid: [1, 1, 1], threadgroup: [64, 1, 1] }]);
    const o = readI32(out);
    for (let i = 0; i < 64; i++) {
      const l = i % 32, base = i - l;
      if (l >= 20) {
        expect(o[i]).toBe(-1);
        continue;
      }
      expect(o[i]).toBe(x.slice(base, base + 20).reduce((a, b) => a + b, 0));
      expect(o[i + 64]).toBe(x.slice(base, base + l).reduce((a, b) => a + b, 0));
    }
  });

  it('a threadgroup that is not a multiple of 32 has a partial last SIMD-group', async () => {
    const lib = await compileTest(dev, 'simd.metal');
    const N = 40;
    const x = Array.from({ length: N }, (_, i) => i);
    const inp = i32Buffer(dev, x);
    const out = dev.buffer(model.length * N * 4);
    await dev.run([{ pipeline: lib.pipeline('simd_int'), buffers: [{ index: 0, buffer: inp }, { index: 1, buffer: out }], bytes: [{ index: 2, data: u32Bytes(N) }], grid: [1, 1, 1], threadgroup: [N, 1, 1] }]);
    const o = readI32(out);
    expect(o[0]).toBe(x.slice(0, 32).reduce((a, b) => a + b, 0));
    expect(o[35]).toBe(x.slice(32).reduce((a, b) => a + b, 0));
    expect(o[24 * N + 32]).toBe(1); // simd_is_first on lane 0 of the partial group
  });
});
