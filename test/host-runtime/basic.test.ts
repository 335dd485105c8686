// The native addon surface and the MSL host runtime's basics: buffers, setBytes, thread
// positions, threadgroup memory shared across barriers, vector types.
import { describe, expect, it } from 'vitest';
import { compileTest, f16ToF32, f32Buffer, loadNative, readF32, readU32, u32Bytes } from './helpers.js';

const native = loadNative();
const dev = native.openDevice({ chip: 'M5' });

describe('native addon: basics', () => {
  it('reports the platform and device', () => {
    expect(native.platform).toBe(process.platform === 'darwin' ? 'metal' : 'host');
    expect(dev.info.threadExecutionWidth).toBe(32);
    expect(dev.info.maxThreadsPerThreadgroup).toBe(1024);
  });

  it('buffers write and read with offsets', () => {
    const b = dev.buffer(16);
    expect(b.byteLength).toBe(16);
    b.write(new Uint8Array([1, 2, 3, 4]), 4);
    expect(Array.from(b.read(0, 8))).toEqual([0, 0, 0, 0, 1, 2, 3, 4]);
    expect(b.read(12).length).toBe(4);
    expect(() => b.write(new Uint8Array(8), 12)).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE' }));
  });

  it('runs saxpy with a constant Params& bound by setBytes', async () => {
    const lib = await compileTest(dev, 'basic.metal');
    expect(lib.functionNames).toEqual(expect.arrayContaining(['saxpy', 'positions', 'reverse_block', 'block_sum', 'vectors']));
    const p = lib.pipeline('saxpy');
    expect(p.name).toBe('saxpy');
    expect(p.threadExecutionWidth).toBe(32);
    const n = 1000;
    const x = f32Buffer(dev, Array.from({ length: n }, (_, i) => i));
    const y = f32Buffer(dev, Array.from({ length: n }, () => 1));
    const params = new Uint8Array(8);
    new DataView(params.buffer).setUint32(0, n, true);
    new DataView(params.buffer).setFloat32(4, 0.5, true);
    const t = await dev.run([
      { pipeline: p, buffers: [{ index: 0, buffer: x }, { index: 1, buffer: y }], bytes: [{ index: 2, data: params }], grid: [8, 1, 1], threadgroup: [128, 1, 1] },
    ]);
    expect(t.gpuEndNs).toBeGreaterThanOrEqual(t.gpuStartNs);
    const out = readF32(y);
    for (let i = 0; i < n; i++) expect(out[i]).toBe(0.5 * i + 1);
  });

  it('binds buffers at an offset and runs dispatches in order', async () => {
    const lib = await compileTest(dev, 'basic.metal');
    const p = lib.pipeline('saxpy');
    const x = f32Buffer(dev, [0, 0, 1, 2, 3, 4]);
    const y = f32Buffer(dev, [10, 20, 30, 40]);
    const params = new Uint8Array(8);
    new DataView(params.buffer).setUint32(0, 4, true);
    new DataView(params.buffer).setFloat32(4, 2, true);
    const d = { pipeline: p, buffers: [{ index: 0, buffer: x, offset: 8 }, { index: 1, buffer: y }], bytes: [{ index: 2, data: params }], grid: [1, 1, 1] as [number, number, number], threadgroup: [4, 1, 1] as [number, number, number] };
    await dev.run([d, d]);
    expect(Array.from(readF32(y))).toEqual([14, 28, 42, 56]);
  });

  it('gives every thread its position attributes', async () => {
    const lib = await compileTest(dev, 'basic.metal');
    const p = lib.pipeline('positions');
    const grid: [number, number, number] = [2, 3, 2];
    const tg: [number, number, number] = [8, 5, 2];
    const W = grid[0] * tg[0], H = grid[1] * tg[1], D = grid[2] * tg[2];
    const out = dev.buffer(W * H * D * 4 * 16);
    await dev.run([{ pipeline: p, buffers: [{ index: 0, buffer: out }], grid, threadgroup: tg }]);
    const o = readU32(out);
    for (let z = 0; z < D; z++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const lin = (z * H + y) * W + x;
          const r = Array.from(o.subarray(lin * 16, lin * 16 + 16));
          const l = [x % tg[0], y % tg[1], z % tg[2]];
          const idx = (l[2] * tg[1] + l[1]) * tg[0] + l[0];
          expect(r).toEqual([
            x, y, z, idx,
            l[0], l[1], l[2], idx % 32,
            Math.floor(x / tg[0]), Math.floor(y / tg[1]), Math.floor(z / tg[2]), Math.floor(idx / 32),
            W, 32, Math.ceil((tg[0] * tg[1] * tg[2]) / 32), tg[0] * tg[1] * tg[2],
          ]);
        }
  });

  it('shares threadgroup memory across a barrier', async () => {
    const lib = await compileTest(dev, 'basic.metal');
    const n = 128 * 6;
    const inp = f32Buffer(dev, Array.from({ length: n }, (_, i) => i));
    const out = dev.buffer(n * 4);
    await dev.run([{ pipeline: lib.pipeline('reverse_block'), buffers: [{ index: 0, buffer: inp }, { index: 1, buffer: out }], grid: [6, 1, 1], threadgroup: [128, 1, 1] }]);
    const o = readF32(out);
    for (let i = 0; i < n; i++) expect(o[i]).toBe(Math.floor(i / 128) * 128 + 127 - (i % 128));
  });

  it('reduces with barriers in a loop and [[threadgroup(n)]] memory', async () => {
    const lib = await compileTest(dev, 'basic.metal');
    const groups = 5, T = 256;
    const vals = Array.from({ length: groups * T }, (_, i) => (i % 17) - 8);
    const inp = f32Buffer(dev, vals);
    const out = dev.buffer(groups * 4);
    await dev.run([{ pipeline: lib.pipeline('block_sum'), buffers: [{ index: 0, buffer: inp }, { index: 1, buffer: out }], threadgroupMemory: [{ index: 0, byteLength: T * 4 }], grid: [groups, 1, 1], threadgroup: [T, 1, 1] }]);
    const o = readF32(out);
    for (let g = 0; g < groups; g++) expect(o[g]).toBe(vals.slice(g * T, (g + 1) * T).reduce((a, b) => a + b, 0));
  });

  it('supports vectors, swizzles, conversions, half, bfloat and packed types', async () => {
    const lib = await compileTest(dev, 'basic.metal');
    const v = [1.5, -2.25, 3, 0.5];
    const inp = f32Buffer(dev, v);
    const out = dev.buffer(16 * 4);
    const packed = f32Buffer(dev, [7, 8, 9]);
    const h = dev.buffer(2);
    const bf = dev.buffer(2);
    await dev.run([{ pipeline: lib.pipeline('vectors'), buffers: [0, 1, 2, 3, 4].map((index) => ({ index, buffer: [inp, out, packed, h, bf][index] })), grid: [1, 1, 1], threadgroup: [1, 1, 1] }]);
    const o = readF32(out);
    expect(Array.from(o.subarray(0, 4))).toEqual([1.5, 4, -2.25, 1.5]);
    expect(Array.from(o.subarray(4, 8))).toEqual([3 + 7, -4 + 8, 6 + 9, 1 + 0.5]);
    expect(o[8]).toBeCloseTo(Math.exp(1.5), 5);
    expect(o[9]).toBeCloseTo(1.5, 6);
    expect(o[10]).toBe(3);
    expect(o[11]).toBe(0.5);
    expect(o[12]).toBeCloseTo(1.5 ** 2 + 2.25 ** 2 + 9 + 0.25, 5);
    expect(o[13]).toBeCloseTo(Math.tanh(1.5), 6);
    expect(o[14]).toBe(0.5);
    expect(o[15]).toBe(2);
    expect(f16ToF32(new Uint16Array(h.read().buffer)[0])).toBe(1.5 * 2 - 2.25);
    expect(new Uint16Array(bf.read().buffer)[0]).toBe(0x4090); // bfloat(4.5)
    expect(Array.from(readF32(packed))).toEqual([9, 8, 7]);
  });

  it('validates bindings before running', async () => {
    const lib = await compileTest(dev, 'basic.metal');
    const err = await dev
      .run([{ pipeline: lib.pipeline('saxpy'), buffers: [], bytes: [{ index: 2, data: u32Bytes(1, 0) }], grid: [1, 1, 1], threadgroup: [1, 1, 1] }])
      .catch((e: Error & { code: string }) => e);
    expect((err as Error & { code: string }).code).toBe('BAD_ARGUMENT');
    expect((err as Error).message).toMatch(/saxpy.*buffer\(0\)/);
    const e2 = await dev
      .run([{ pipeline: lib.pipeline('saxpy'), grid: [1, 1, 1], threadgroup: [2048, 1, 1] }])
      .catch((e: Error & { code: string }) => e);
    expect((e2 as Error & { code: string }).code).toBe('OUT_OF_RANGE');
  });
});
