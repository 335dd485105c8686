import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { KernelBackend } from '../../src/backend/interface.js';
import { MetalBackend } from '../../src/backend/metal/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/backend.js';
import { DTypeError, OptionsError, ShapeError } from '../../src/errors.js';
import { numberToF16 } from '../../src/dtype.js';
import { checkQuantWeight, FORMATS, QUANT_FORMATS, type QuantFormat } from '../../src/ops/quant/formats.js';
import { dequantRef } from '../../src/ops/quant/dequant.js';
import { quantizeQ4K, quantizeQ4_0, quantizeQ6K, quantizeQ8_0 } from '../../src/ops/quant/gguf.js';
import { quantWeight } from '../../src/ops/quant/inputs.js';
import { mlxQuantize } from '../../src/ops/quant/mlx.js';
import type { HostTensor } from '../../src/ops/types.js';

// The host quantizers are ports of MLX's and llama.cpp's reference algorithms; these tests
// pin them to blocks derived by hand from the C code, and check that every backend's
// dequantize reproduces the f32 values llama.cpp / MLX compute, bit for bit.

const backends: KernelBackend[] = [new CpuBackend()];
beforeAll(async () => {
  backends.push(await WebGpuBackend.create());
  backends.push(await MetalBackend.create(process.platform !== 'darwin' ? { chip: 'M5' } : {}));
});
afterAll(() => backends.forEach((b) => b.dispose()));

const h16 = (x: number) => numberToF16(x);
const le16 = (h: number) => [h & 0xff, h >> 8];

/** Dequantizes on `b` to f32 and returns the values. */
async function dequantOn(b: KernelBackend, format: QuantFormat, t: Record<string, HostTensor>, groupSize?: 32 | 64 | 128): Promise<Float32Array> {
  const ins = Object.fromEntries(Object.entries(t).map(([k, h]) => [k, b.tensor(h.data, h.shape, h.dtype)]));
  const { y } = b.dequantize(ins as never, { format, groupSize, outDtype: 'f32' });
  const out = (await b.read(y)) as Float32Array;
  [...Object.values(ins), y].forEach((x) => x.dispose());
  return out;
}

interface Golden {
  format: QuantFormat;
  x: number[];
  /** The bytes (GGUF) or words (MLX) of the block, and MLX's f16 scale/bias bits. */
  bytes?: number[];
  words?: number[];
  scale?: number;
  bias?: number;
  /** The f32 dequantized values llama.cpp / MLX compute. */
  deq: number[];
}

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

const GOLDEN: Record<string, Golden> = {
  // quantize_row_q8_0_ref: amax = 127, so d = 127/127 = 1 (fp16 0x3C00) and id = 1/d = 1;
  // qs = roundf(x·1), which rounds halves away from zero: −2.5 → −3, 2.5 → 3, −0.5 → −1,
  // 0.5 → 1, 1.49 → 1, 100.5 → 101; x[7..31] = j − 20 are integers. w = q·d = q.
  q8_0: {
    format: 'q8_0',
    x: [127, -2.5, 2.5, -0.5, 0.5, 1.49, 100.5, ...range(25, (j) => j + 7 - 20)],
    bytes: [...le16(0x3c00), ...[127, -3, 3, -1, 1, 1, 101, ...range(25, (j) => j + 7 - 20)].map((q) => q & 0xff)],
    deq: [127, -3, 3, -1, 1, 1, 101, ...range(25, (j) => j + 7 - 20)],
  },
  // quantize_row_q4_0_ref: the largest |x| is x[0] = −8 (max keeps its sign), d = max/−8 = 1,
  // id = 1; q = MIN(15, (int8_t)(x·id + 8.5f)) truncates: −8 → 0.5 → 0; 7.6 → 16.1 → 16 → 15;
  // −0.5 → 8; 0.5 → 9; −3.6 → 4.9 → 4; x[j] = j − 8 (j = 5..15) → j; x[16 + j] = j%8 − 4 →
  // j%8 + 4 (high nibble of qs[j]). w = (q − 8)·d.
  q4_0: {
    format: 'q4_0',
    x: [-8, 7.6, -0.5, 0.5, -3.6, ...range(11, (j) => j + 5 - 8), ...range(16, (j) => (j % 8) - 4)],
    bytes: [...le16(0x3c00), ...range(16, (j) => [0, 15, 8, 9, 4, ...range(11, (t) => t + 5)][j] | (((j % 8) + 4) << 4))],
    deq: [...[0, 15, 8, 9, 4, ...range(11, (t) => t + 5)].map((q) => q - 8), ...range(16, (j) => j % 8 - 4)],
  },
  // quantize_row_q4_K_ref on x[i] = i mod 16: each 32-group has min 0, max 15, so
  // make_qkx2_quants starts from iscale = 15/15 = 1, L = x, an exact fit (error 0) that no
  // search step can beat (it needs error < 0): scale 1, min −0. max_scale = 1, max_min = 0
  // (−0 > 0 is false): ls = nearest_int(63·1) = 63, lm = 0. Packing: scales[0..3] = 63 |
  // (63>>4)<<6 = 255, scales[4..7] = 0, scales[8..11] = (63 & 15) = 15. d = fp16(1/63) =
  // 0x2410 (2^-6·1040/1024 = 0.015869140625), dmin = fp16(0) = 0. Requantizing with
  // d·sc = 0.999755859375 gives L = x again; qs[32g + l] = L | L<<4 = 17·(l mod 16).
  // w = (d·63)·q − 0 = 0.999755859375·q (exact in f32).
  q4_k_a: {
    format: 'q4_k',
    x: range(256, (i) => i % 16),
    bytes: [...le16(0x2410), 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 15, 15, 15, 15, ...range(128, (l) => 17 * (l % 16))],
    deq: range(256, (i) => 0.999755859375 * (i % 16)),
  },
  // The same with x[i] = i mod 16 − 8: min −8, max 7, again iscale 1 and an exact fit
  // L = x + 8, scale 1, min 8. max_min = 8 → inv_min = 63/8, lm = 63; every scale byte is
  // 255 (scales[8..11] = 15 | 15<<4). dmin = fp16(8/63) = 0x3010 (0.126953125); requantizing:
  // (x + dmin·63)/(d·63) = (x + 7.998046875)/0.999755859375 = x + 8 (exactly 8 at x = 0).
  // w = 0.999755859375·q − 7.998046875 (exact in f32).
  q4_k_b: {
    format: 'q4_k',
    x: range(256, (i) => (i % 16) - 8),
    bytes: [...le16(0x2410), ...le16(0x3010), ...range(12, () => 255), ...range(128, (l) => 17 * (l % 16))],
    deq: range(256, (i) => 0.999755859375 * (i % 16) - 7.998046875),
  },
  // quantize_row_q6_K_ref: sub-block 0 is [−8, 7.75 ×15]; make_qx_quants(nmax 32) takes
  // max = −8, iscale = −32/−8 = 4, l = −32 (→ L 0) and 31 (→ L 63), an exact fit of scale
  // 0.25 (every sum exact in f32); the ±0.1·is trials either give the same l (equal, not
  // better) or l = (−31, 30), a worse fit. Sub-blocks 1..15 are constants c (powers of two,
  // or 0): l = −32, scale −c/32, every sum a power of two times an integer, so the trials
  // tie and never win. max |scale| = 0.25 (sub-block 0, +0.25): iscale = −128/0.25 = −512,
  // d = fp16(−1/512) = 0x9800, scales = nearest_int(−512·scale): −128 and 16·c; the
  // requantization reproduces L (c = 0 keeps make_qx_quants' zeros). ql[1..15] = 15,
  // qh[1..15] = 63>>4 = 3, everything else 0. w = d·sc·(q − 32) reproduces x exactly.
  q6_k: (() => {
    const cs = [-4, -2, -1, -0.5, -0.25, -0.125, 0, 0.125, 0.25, 0.5, 1, 2, 4, 4, -4];
    const x = [-8, ...range(15, () => 7.75), ...cs.flatMap((c) => range(16, () => c))];
    const bytes = new Array(210).fill(0);
    for (let l = 1; l < 16; l++) {
      bytes[l] = 15;
      bytes[128 + l] = 3;
    }
    [-128, ...cs.map((c) => 16 * c)].forEach((s, ib) => (bytes[192 + ib] = s & 0xff));
    bytes[208] = 0x00;
    bytes[209] = 0x98;
    return { format: 'q6_k' as const, x, bytes, deq: x };
  })(),
  // mlx/backend/cpu/quantized.cpp quantize, 4 bits, one group of 32: x = [0, −1, …, −15] twice.
  // w_min = −15, w_max = 0, |w_min| > |w_max|: scale = max(15/15, 1e-7) = 1 (kept positive),
  // edge = w_min = −15, q0 = rint(−15/1) = −15 ≠ 0 → scale = −15/−15 = 1, bias = −15;
  // q = rint((x + 15)/1) = 15, 14, …, 0. Words: elements 0..7 (q 15..8) → 0x89ABCDEF, 8..15
  // (q 7..0) → 0x01234567. scale 1 (f16 0x3C00), bias −15 (f16 0xCB80). w = q − 15 = x.
  mlx4: {
    format: 'mlx4',
    x: [...range(16, (i) => -i), ...range(16, (i) => -i)],
    words: [0x89abcdef, 0x01234567, 0x89abcdef, 0x01234567],
    scale: 0x3c00,
    bias: 0xcb80,
    deq: [...range(16, (i) => 0 - i), ...range(16, (i) => 0 - i)],
  },
  // 8 bits: integers in [−255, 0] with both ends present: scale = 255/255 = 1, edge = −255,
  // q0 = −255, scale = 1, bias = −255 (f16 0xDBF8); q = x + 255, four to a word, little-endian.
  mlx8: (() => {
    const x = [-255, 0, -1, -2, -3, -128, -254, -100, ...range(24, (j) => j - 23)];
    const q = x.map((v) => v + 255);
    return { format: 'mlx8' as const, x, words: range(8, (w) => (q[4 * w] | (q[4 * w + 1] << 8) | (q[4 * w + 2] << 16) | (q[4 * w + 3] << 24)) >>> 0), scale: 0x3c00, bias: 0xdbf8, deq: x };
  })(),
};

function quantizeGolden(g: Golden): Record<string, HostTensor> {
  const k = g.x.length;
  if (FORMATS[g.format].kind === 'mlx') {
    const q = mlxQuantize(g.x, 1, k, FORMATS[g.format].bits!, 32, 'f16');
    return { w: { dtype: 'u32', shape: [1, q.w.length], data: q.w }, scales: { dtype: 'f16', shape: [1, k / 32], data: q.scales }, biases: { dtype: 'f16', shape: [1, k / 32], data: q.biases } };
  }
  const info = FORMATS[g.format];
  const out = new Uint8Array((k / info.blockK!) * info.blockBytes!);
  ({ q4_0: quantizeQ4_0, q8_0: quantizeQ8_0, q4_k: quantizeQ4K, q6_k: quantizeQ6K })[g.format as 'q4_0'](g.x, k, out);
  return { w: { dtype: 'u8', shape: [1, out.length], data: out } };
}

describe('host quantizers reproduce blocks derived by hand from the C reference', () => {
  it.each(Object.keys(GOLDEN))('%s', async (name) => {
    const g = GOLDEN[name];
    const t = quantizeGolden(g);
    if (g.bytes) expect(Array.from(t.w.data)).toEqual(g.bytes);
    if (g.words) {
      expect(Array.from(t.w.data)).toEqual(g.words);
      expect(Array.from(t.scales.data)).toEqual([g.scale]);
      expect(Array.from(t.biases.data)).toEqual([g.bias]);
    }
    for (const b of backends) expect(Array.from(await dequantOn(b, g.format, t, FORMATS[g.format].kind === 'mlx' ? 32 : undefined)), b.name).toEqual(g.deq);
  });
});

describe('dequantize to f32 is bit-exact with llama.cpp / MLX on every backend', () => {
  // Every format's f32 dequantization is exact or one rounding of an exact value (see
  // src/ops/quant/dequant.ts), so each backend must return fround(exact) bit for bit.
  it.each(QUANT_FORMATS.flatMap((f) => (['quantize', 'bits'] as const).map((m) => [f, m] as const)))('%s from %s', async (format, mode) => {
    const k = FORMATS[format].kind === 'mlx' ? 256 : FORMATS[format].blockK! * 2;
    const src = { format, n: 4, k, groupSize: FORMATS[format].kind === 'mlx' ? (64 as const) : undefined, scaleDtype: 'bf16' as const, mode };
    const t = quantWeight(src, 11);
    const d = checkQuantWeight('dequantize', { w: t.w, scales: t.scales, biases: t.biases }, { format, groupSize: src.groupSize });
    const ref = (h?: HostTensor) => (h ? { dtype: h.dtype, shape: h.shape, data: Float64Array.from(h.dtype === 'bf16' ? Array.from(h.data, (v) => new Float32Array(new Uint32Array([v << 16]).buffer)[0]) : h.data) } : undefined);
    const want = Float32Array.from(dequantRef(d, ref(t.w)!, ref(t.scales), ref(t.biases)).w);
    for (const b of backends) expect(Array.from(await dequantOn(b, format, t, src.groupSize)), b.name).toEqual(Array.from(want));
  });
});

describe('quantized weights are validated before any work', () => {
  const cpu = new CpuBackend();
  const u8 = (n: number, c: number) => cpu.tensor(new Uint8Array(n * c), [n, c], 'u8');
  const u32 = (n: number, c: number) => cpu.tensor(new Uint32Array(n * c), [n, c], 'u32');
  const f16 = (n: number, c: number) => cpu.tensor(new Uint16Array(n * c), [n, c], 'f16');
  const cases: [string, () => unknown, new (...a: never[]) => Error, RegExp][] = [
    ['GGUF blocks as u32', () => cpu.dequantize({ w: u32(2, 9) }, { format: 'q4_0' }), DTypeError, /^\[dequantize\] w: expected u8 bytes \(GGUF blocks\) for format q4_0, got u32\[2,9\]$/],
    ['a partial block', () => cpu.dequantize({ w: u8(2, 20) }, { format: 'q4_0' }), ShapeError, /^\[dequantize\] w: expected a whole number of 18-byte q4_0 blocks per row, got u8\[2,20\]$/],
    ['group size on GGUF', () => cpu.dequantize({ w: u8(2, 18) }, { format: 'q4_0', groupSize: 32 }), OptionsError, /^\[dequantize\] groupSize: only MLX formats/],
    ['scales on GGUF', () => cpu.dequantize({ w: u8(2, 18), scales: f16(2, 1) }, { format: 'q4_0' }), ShapeError, /^\[dequantize\] scales: format q4_0 keeps its scales inside the blocks/],
    ['MLX without biases', () => cpu.dequantize({ w: u32(2, 8), scales: f16(2, 1) }, { format: 'mlx4' }), ShapeError, /^\[dequantize\] biases: required input is missing$/],
    ['MLX scales of the wrong shape', () => cpu.dequantize({ w: u32(2, 8), scales: f16(2, 2), biases: f16(2, 2) }, { format: 'mlx4' }), ShapeError, /^\[dequantize\] w: K=64 must be a multiple of groupSize 64|scales: expected f16\[2,1\]/],
    ['MLX biases of another dtype', () => cpu.dequantize({ w: u32(2, 8), scales: f16(2, 2), biases: cpu.tensor(new Float32Array(4), [2, 2]) }, { format: 'mlx4', groupSize: 32 }), DTypeError, /^\[dequantize\] biases: expected f16\[2,2\] \(the dtype and shape of scales\), got f32\[2,2\]$/],
    ['an unknown format', () => cpu.dequantize({ w: u8(2, 18) }, { format: 'q5_k' as never }), OptionsError, /^\[dequantize\] format: /],
    ['rows without packed units', () => cpu.dequantize({ w: u8(2, 0) }, { format: 'q4_0' }), ShapeError, /^\[dequantize\] w: expected a 2-D packed weight \[N, K\/blockK·blockBytes\], got u8\[2,0\]$/],
  ];
  it.each(cases)('%s', (_l, fn, cls, msg) => {
    expect(fn).toThrow(cls);
    expect(fn).toThrow(msg);
  });
});

// An empty weight (N = 0 rows) is an empty output, nothing launched (the base class's rule
// for all-empty outputs). Its case for test/ops/empty.test.ts: { op: 'dequantize', label:
// 'N=0, q4_0', inputs: [['w', 'u8', [0, 18]]], options: { format: 'q4_0' }, want: { y: { shape: [0, 32] } } }.
describe('dequantize of an empty weight', () => {
  it.each([0, 1, 2])('backend %i: N = 0 gives y [0, K], GGUF and MLX', async (bi) => {
    const b = backends[bi];
    const g = b.dequantize({ w: b.tensor(new Uint8Array(0), [0, 18], 'u8') }, { format: 'q4_0' }).y;
    expect([g.shape, g.dtype, (await b.read(g)).length]).toEqual([[0, 32], 'f32', 0]);
    const m = b.dequantize({ w: b.tensor(new Uint32Array(0), [0, 8], 'u32'), scales: b.tensor(new Uint16Array(0), [0, 1], 'f16'), biases: b.tensor(new Uint16Array(0), [0, 1], 'f16') }, { format: 'mlx4', groupSize: 64 }).y;
    expect([m.shape, m.dtype, (await b.read(m)).length]).toEqual([[0, 64], 'f16', 0]);
  });
});
