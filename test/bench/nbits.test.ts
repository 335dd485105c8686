import { describe, expect, it } from 'vitest';
import { nbitsExactWeights, mlxToMatMulNBits } from '../../bench/peers/nbits.js';
import { PeerUnsupported } from '../../bench/peers/peer.js';
import { toFloat64 } from '../../src/dtype.js';
import { mlxQ, mlxQuantize } from '../../src/ops/quant/mlx.js';
import { uniform } from '../../src/ops/random.js';
import type { HostTensor } from '../../src/ops/types.js';

/** W[n,k] = s·q + b from MLX words, scales, biases (pmetal's format), float64. */
function mlxDequant(w: HostTensor, scales: HostTensor, biases: HostTensor, group: number): Float64Array {
  const [n, words] = w.shape;
  const k = words * 8;
  const s = toFloat64(scales.dtype, scales.data);
  const b = toFloat64(biases.dtype, biases.data);
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < k; j++) {
      const g = r * (k / group) + Math.floor(j / group);
      out[r * k + j] = s[g] * mlxQ(w.data as Uint32Array, r * words, j, 4) + b[g];
    }
  return out;
}

/** MatMulNBits' dequantization as its schema defines it: (q − zp)·scale, q the low nibble first, zp 8 when absent. */
function nbitsDequant(c: ReturnType<typeof mlxToMatMulNBits>, t: 'f16' | 'f32'): Float64Array {
  const [n, blocks, half] = c.bDims;
  const k = blocks * half * 2;
  const s = t === 'f16' ? toFloat64('f16', c.scales as Uint16Array) : Float64Array.from(c.scales);
  const zpRow = Math.ceil(blocks / 2);
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < k; j++) {
      const byte = c.b[r * (k / 2) + (j >> 1)];
      const q = j & 1 ? byte >> 4 : byte & 15;
      const g = Math.floor(j / (half * 2));
      const zp = c.zeroPoints ? (c.zeroPoints[r * zpRow + (g >> 1)] >> ((g & 1) * 4)) & 15 : 8;
      // + 0: a zero weight's sign differs between the forms ((8 − 8)·(−s) = −0, 8·(−s) + 8s = +0) and cannot change a product's sum.
      out[r * k + j] = (q - zp) * s[r * blocks + g] + 0;
    }
  return out;
}

describe('mlx4 → MatMulNBits conversion', () => {
  for (const zp of ['sym', 'asym'] as const)
    for (const group of [32, 64, 128] as const)
      for (const t of ['f16', 'f32'] as const)
        it(`dequantizes to the same weights (${zp}, group ${group}, ${t})`, () => {
          // 3 blocks per row at group 128 (an odd count: a half-used zero-point byte per row).
          const { w, scales, biases } = nbitsExactWeights(5, 3 * group, group, zp, 7);
          const c = mlxToMatMulNBits(w, scales, biases, group, t);
          expect(c.bDims).toEqual([5, 3, group / 2]);
          expect(c.zeroPoints === undefined).toBe(zp === 'sym');
          expect(nbitsDequant(c, t)).toEqual(mlxDequant(w, scales, biases, group));
        });

  it("refuses MLX's own quantizer output (its f16 scale and bias are rounded apart)", () => {
    const n = 4;
    const k = 64;
    const src = toFloat64('f32', uniform('f32', [n, k], 3).data);
    const q = mlxQuantize(src, n, k, 4, 32, 'f16');
    const h = (data: Uint32Array | Uint16Array | Float32Array, dtype: 'u32' | 'f16', shape: number[]): HostTensor => ({ dtype, shape, data });
    const run = () => mlxToMatMulNBits(h(q.w, 'u32', [n, k / 8]), h(q.scales as Uint16Array, 'f16', [n, 2]), h(q.biases as Uint16Array, 'f16', [n, 2]), 32, 'f16');
    expect(run).toThrow(PeerUnsupported);
    expect(run).toThrow(/^MatMulNBits|^MLX affine weights do not convert exactly/);
  });

  it('refuses a group whose bias/scale is not an integer zero point', () => {
    const w: HostTensor = { dtype: 'u32', shape: [2, 4], data: new Uint32Array(8) };
    // Row 1's group: 0.3/0.5 → zero point −0.6.
    const scales: HostTensor = { dtype: 'f32', shape: [2, 1], data: Float32Array.of(0.5, 0.5) };
    const biases: HostTensor = { dtype: 'f32', shape: [2, 1], data: Float32Array.of(-4, Math.fround(0.3)) };
    expect(() => mlxToMatMulNBits(w, scales, biases, 32, 'f32')).toThrow(/at row 1, group 0 .*is not an integer zero point in \[0, 15\]/);
  });

  it('refuses a scale whose products round in f16 (but converts it for f32)', () => {
    // s = 1 + 2^-10 has 11 significant bits: 3·s needs 12, so (q − 8)·s rounds in f16.
    const s = 1 + 2 ** -10;
    const scales: HostTensor = { dtype: 'f32', shape: [1, 1], data: Float32Array.of(s) };
    const biases: HostTensor = { dtype: 'f32', shape: [1, 1], data: Float32Array.of(-8 * s) };
    const w: HostTensor = { dtype: 'u32', shape: [1, 4], data: Uint32Array.of(0x76543210, 0xfedcba98, 0, 0) };
    expect(() => mlxToMatMulNBits(w, scales, biases, 32, 'f16')).toThrow(/in f16 cannot dequantize exactly at row 0, group 0/);
    const c = mlxToMatMulNBits(w, scales, biases, 32, 'f32');
    expect(nbitsDequant(c, 'f32')).toEqual(mlxDequant(w, scales, biases, 32));
  });
});
