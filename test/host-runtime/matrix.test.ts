// simdgroup_matrix on the host runtime against a TS matmul.
import { describe, expect, it } from 'vitest';
import { compileTest, f32Buffer, loadNative, readF32, rng } from './helpers.js';

const dev = loadNative().openDevice();

function matmul(A: number[], B: number[], M: number, N: number, K: number): number[] {
  const C = new Array(M * N).fill(0);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) C[i * N + j] += A[i * K + k] * B[k * N + j];
  return C;
}
function toHalfBits(v: number): number {
  // exact for the small integers used here
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const e = ((u >>> 23) & 0xff) - 127 + 15;
  if (v === 0) return sign;
  return sign | (e << 10) | ((u >>> 13) & 0x3ff);
}

describe('MSL host runtime: simdgroup_matrix', () => {
  it('load / multiply_accumulate / store compute a tiled matmul', async () => {
    const lib = await compileTest(dev, 'matrix.metal');
    const M = 32, N = 48, K = 24;
    const r = rng(11);
    const A = Array.from({ length: M * K }, () => Math.floor(r() * 9) - 4);
    const B = Array.from({ length: K * N }, () => Math.floor(r() * 9) - 4);
    const c = dev.buffer(M * N * 4);
    const mnk = new Uint8Array(new Uint32Array([M, N, K, 0]).buffer);
    await dev.run([{ pipeline: lib.pipeline('matmul8'), buffers: [{ index: 0, buffer: f32Buffer(dev, A) }, { index: 1, buffer: f32Buffer(dev, B) }, { index: 2, buffer: c }], bytes: [{ index: 3, data: mnk }], grid: [N / 16, M / 16, 1], threadgroup: [128, 1, 1] }]);
    expect(Array.from(readF32(c))).toEqual(matmul(A, B, M, N, K));
  });

  it('transposed load/store, simdgroup_multiply, half inputs and thread_elements', async () => {
    const lib = await compileTest(dev, 'matrix.metal');
    const A = Array.from({ length: 64 }, (_, i) => (i % 7) - 3);
    const B = Array.from({ length: 64 }, (_, i) => ((i * 3) % 5) - 2);
    const ha = dev.buffer(128), hb = dev.buffer(128);
    ha.write(new Uint16Array(A.map(toHalfBits)));
    hb.write(new Uint16Array(B.map(toHalfBits)));
    const out = dev.buffer(256 * 4);
    await dev.run([{ pipeline: lib.pipeline('matrix_misc'), buffers: [{ index: 0, buffer: ha }, { index: 1, buffer: hb }, { index: 2, buffer: out }], grid: [1, 1, 1], threadgroup: [32, 1, 1] }]);
    const o = readF32(out);
    const Bt = Array.from({ length: 64 }, (_, i) => B[(i % 8) * 8 + Math.floor(i / 8)]);
    const D = matmul(A, Bt, 8, 8, 8);
    expect(Array.from(o.subarray(0, 64))).toEqual(D);
    expect(Array.from(o.subarray(64, 128))).toEqual(Array.from({ length: 64 }, (_, i) => D[(i % 8) * 8 + Math.floor(i / 8)]));
    expect(Array.from(o.subarray(128, 192))).toEqual(D.map((v) => 3 * v));
    // lane l owns elements (r, c), (r, c + 1) of Apple's layout
    for (let l = 0; l < 32; l++) {
      const q = l >> 2;
      const row = (q & 4) + ((l >> 1) % 4);
      const col = (q & 2) * 2 + (l % 2) * 2;
      expect([o[192 + 2 * l], o[193 + 2 * l]]).toEqual([3 * D[row * 8 + col], 3 * D[row * 8 + col + 1]]);
    }
  });
});
