// The Metal 4 subset: MetalPerformancePrimitives matmul2d over tensor views, with edge tiles,
// transposed operands and a cooperative destination tensor.
import { describe, expect, it } from 'vitest';
import { compileTest, f32Buffer, loadNative, readF32, rng } from './helpers.js';

const dev = loadNative().openDevice({ chip: 'M5 Max' });

const dims = (M: number, N: number, K: number) => new Uint8Array(new Int32Array([M, N, K]).buffer);
function halfBits(v: number): number {
  // exact for small integers / 4
  if (v === 0) return 0;
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  return ((u >>> 16) & 0x8000) | ((((u >>> 23) & 0xff) - 112) << 10) | ((u >>> 13) & 0x3ff);
}

describe('MSL host runtime: Metal Performance Primitives subset', () => {
  it('matmul2d multiply_accumulate over K tiles, half inputs, float output, edge tiles', async () => {
    const lib = await compileTest(dev, 'mpp.metal');
    const M = 96, N = 64, K = 64;
    const r = rng(5);
    const A = Array.from({ length: M * K }, () => (Math.floor(r() * 9) - 4) / 4);
    const B = Array.from({ length: K * N }, () => Math.floor(r() * 7) - 3);
    const a = dev.buffer(M * K * 2), b = dev.buffer(K * N * 2), c = dev.buffer(M * N * 4);
    a.write(new Uint16Array(A.map(halfBits)));
    b.write(new Uint16Array(B.map(halfBits)));
    await dev.run([{ pipeline: lib.pipeline('mpp_gemm'), buffers: [{ index: 0, buffer: a }, { index: 1, buffer: b }, { index: 2, buffer: c }], bytes: [{ index: 3, data: dims(M, N, K) }], grid: [N / 32, Math.ceil(M / 64), 1], threadgroup: [128, 1, 1] }]);
    const o = readF32(c);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
        expect(o[i * N + j]).toBe(s);
      }
  });

  it('transpose_right with a cooperative destination tensor, bias load and relu epilogue', async () => {
    const lib = await compileTest(dev, 'mpp.metal');
    const M = 48, N = 40, K = 20;
    const r = rng(9);
    const A = Array.from({ length: M * K }, () => Math.floor(r() * 9) - 4);
    const Bt = Array.from({ length: N * K }, () => Math.floor(r() * 9) - 4); // N x K
    const bias = Array.from({ length: M * N }, () => Math.floor(r() * 21) - 10);
    const c = f32Buffer(dev, new Array(M * N).fill(-99));
    await dev.run([{ pipeline: lib.pipeline('mpp_gemm_nt_bias'), buffers: [f32Buffer(dev, A), f32Buffer(dev, Bt), c, f32Buffer(dev, bias)].map((buffer, index) => ({ index, buffer })), bytes: [{ index: 4, data: dims(M, N, K) }], grid: [Math.ceil(N / 32), Math.ceil(M / 32), 1], threadgroup: [64, 1, 1] }]);
    const o = readF32(c);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[i * K + k] * Bt[j * K + k];
        expect(o[i * N + j]).toBe(Math.max(s + bias[i * N + j], 0));
      }
  });
});
