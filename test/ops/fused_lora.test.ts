import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { loraBackwardInputs, loraForwardInputs, loraOptions, type LoraDef } from '../../src/ops/fused_lora_forward/cases.js';
import { OptionsError, ShapeError } from '../../src/errors.js';
import { dropThreshold, dropoutMask, mix32 } from '../../src/ops/fused_lora_forward/dropout.js';
import { useWebGpu } from '../webgpu_backends.js';

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
  const q4 = (shape: number[]) => cpu.tensor(new Uint8Array(shape[0] * shape[1]), shape, 'u8');
  const qbase = (k = 8) => ({ x: f([3, k]), loraA: f([2, k]), loraB: f([5, 2]) });
  const qbwd = () => ({ dy: f([3, 5]), ...qbase(32), xa: f([3, 2]) });
  it.each([
    ['loraB of another rank', () => cpu.fusedLoraForward({ ...base(), loraB: f([5, 3]) }), ShapeError, /^\[fused_lora_forward\] loraB: expected f32\[5,2\], got f32\[5,3\]$/],
    ['weight of another K', () => cpu.fusedLoraForward({ ...base(), weight: f([5, 9]) }), ShapeError, /^\[fused_lora_forward\] weight: expected f32\[5,8\], got f32\[5,9\]$/],
    ['xa of another dtype', () => cpu.fusedLoraBackward({ ...bwd(), xa: cpu.tensor(new Uint16Array(6), [3, 2], 'f16') }), Error, /^\[fused_lora_backward\] xa: expected f32\[3,2\], got f16\[3,2\]$/],
    ['dAIn without accumulate', () => cpu.fusedLoraBackward({ ...bwd(), dAIn: f([2, 8]) }), ShapeError, /^\[fused_lora_backward\] dAIn: given without accumulate/],
    ['accumulate without dBIn', () => cpu.fusedLoraBackward({ ...bwd(), dAIn: f([2, 8]) }, { accumulate: true }), ShapeError, /^\[fused_lora_backward\] dBIn: required input is missing$/],
    // QLoRA: W dense or quantized, never both, and the packed inputs checked as quantized_gemm checks them.
    ['weight and format', () => cpu.fusedLoraForward({ ...base(), w: q4([5, 18]) }, { format: 'q4_0' }), ShapeError, /^\[fused_lora_forward\] weight: format q4_0 takes the base weight quantized as w; expected no dense weight, got f32\[5,8\]$/],
    ['w without format', () => cpu.fusedLoraForward({ ...qbase(), w: q4([5, 18]) }), OptionsError, /^\[fused_lora_forward\] format: expected a quantized format \(mlx4 \| mlx8 \| q4_0 \| q8_0 \| q4_k \| q6_k\) for the packed w, got none/],
    ['neither weight nor w', () => cpu.fusedLoraForward(qbase()), ShapeError, /^\[fused_lora_forward\] weight: required input is missing$/],
    ['groupSize without format', () => cpu.fusedLoraForward(base(), { groupSize: 32 }), OptionsError, /^\[fused_lora_forward\] groupSize: only a quantized weight/],
    ['w of another K', () => cpu.fusedLoraForward({ ...qbase(32), w: q4([5, 36]) }, { format: 'q4_0' }), ShapeError, /^\[fused_lora_forward\] w: expected u8\[5,18\] \(K=32: 1 blocks of 18 bytes\), got u8\[5,36\]$/],
    ['K not a whole block', () => cpu.fusedLoraForward({ ...qbase(), w: q4([5, 18]) }, { format: 'q4_0' }), ShapeError, /^\[fused_lora_forward\] w: K=8 must be a multiple of 32 \(the q4_0 block\)$/],
    ['MLX without scales', () => cpu.fusedLoraBackward({ ...qbwd(), w: cpu.tensor(new Uint32Array(20), [5, 4], 'u32') }, { format: 'mlx4', groupSize: 32 }), ShapeError, /^\[fused_lora_backward\] scales: required input is missing$/],
    ['loraB of another N', () => cpu.fusedLoraForward({ ...qbase(32), w: q4([6, 18]) }, { format: 'q4_0' }), ShapeError, /^\[fused_lora_forward\] loraB: expected f32\[6,2\], got f32\[5,2\]$/],
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

describe('QLoRA on webgpu', () => {
  const gpu = useWebGpu();

  // The quantized W is the dense path on dequantize's output, bit for bit: one dequantization
  // into x's dtype, nothing else different (the bounds of spec.ts assume exactly that).
  it.each([
    { lead: [5], k: 96, n: 33, r: 8, dropout: 0.25, seed: 3, quant: { format: 'q4_0', mode: 'bits' } },
    { lead: [7], k: 192, n: 17, r: 4, quant: { format: 'mlx4', groupSize: 64, scaleDtype: 'bf16' } },
  ] as LoraDef[])('$quant.format: the forward and backward equal the dense ops on dequantize(W)', async (d) => {
    const up = (h: Record<string, { data: never; shape: number[]; dtype: never }>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, gpu().tensor(v.data, v.shape, v.dtype)]));
    const fq = up(loraForwardInputs(d, 'f16', 11) as never);
    const bq = up(loraBackwardInputs(d, 'f16', 11) as never);
    const o = loraOptions(d, false) as { format: 'q4_0' };
    const { w, scales, biases, ...fRest } = fq;
    const weight = gpu().dequantize({ w, scales, biases }, { format: o.format, groupSize: d.quant!.groupSize as 64 | undefined, outDtype: 'f16' }).y;
    const { format: _f, groupSize: _g, ...dense } = o as Record<string, unknown>;
    const yq = gpu().fusedLoraForward(fq as never, o);
    const yd = gpu().fusedLoraForward({ ...fRest, weight } as never, dense);
    expect(Array.from(await gpu().read(yq.y))).toEqual(Array.from(await gpu().read(yd.y)));
    const { w: _w, scales: _s, biases: _b, ...bRest } = bq;
    const gq = gpu().fusedLoraBackward(bq as never, o);
    const gd = gpu().fusedLoraBackward({ ...bRest, weight } as never, dense);
    for (const name of ['dx', 'dA', 'dB'] as const) expect(Array.from(await gpu().read(gq[name]))).toEqual(Array.from(await gpu().read(gd[name])));
  });
});
