import { f16ToNumber, fromFloat64, numberToF16, toFloat64, type FloatDType } from '../../src/dtype.js';
import { rng } from '../../src/ops/random.js';
import type { HostTensor } from '../../src/ops/types.js';
import { PeerUnsupported } from './peer.js';

/**
 * pmetal's MLX affine 4-bit weights (quant/formats.ts: W[n,k] = s·q + b per group) as
 * onnxruntime's com.microsoft MatMulNBits takes them (W[n,k] = (q − zp)·scale per block,
 * zp a uint4, 8 when the zero_points input is absent).
 *
 * The packed nibbles need no change: MLX puts element k of a row at bit (k mod 8)·4 of
 * little-endian u32 word k/8, so byte j of the row holds elements 2j (low nibble) and 2j+1
 * (high nibble) — MatMulNBits' B [N, K/block, block/2] byte for byte. The group is the block.
 *
 * The affine part converts exactly only where b = −zp·s for an integer zp in [0, 15]: MLX's own
 * quantizer (mx.quantize) rounds s and b to the scale dtype separately, so b/s is almost never
 * an integer, and MatMulNBits' float zero points would round (q − zp)·s differently from s·q + b.
 * The converter checks every group and refuses (PeerUnsupported, with the first group that
 * fails) rather than hand the peer different weights. It also checks that the peer's own
 * dequantization in its compute type T (f16 for an f16 model) is exact: s, q·s, zp·s and
 * (q − zp)·s for every q must be representable in T, so whichever of these forms its kernel
 * evaluates, the weight it multiplies is bit-identical to pmetal's.
 */

export interface NBitsWeight {
  /** MatMulNBits B: uint8 [N, K/block, block/2] (a view of the MLX words). */
  b: Uint8Array;
  bDims: [number, number, number];
  /** [N·K/block] in the peer's dtype T. */
  scales: Float32Array | Uint16Array;
  /** uint8 [N·ceil((K/block)/2)], low nibble first; absent when every zero point is 8 (the op's default). */
  zeroPoints?: Uint8Array;
}

const exactMemo = new Map<string, boolean>();

/** Every f16 bit pattern decoded once: the bench weights have millions of scales (decodeFloat per element takes seconds). */
let f16Table: Float64Array | undefined;
function decode(h: HostTensor): Float64Array {
  if (h.dtype !== 'f16') return toFloat64(h.dtype, h.data);
  if (!f16Table) {
    f16Table = new Float64Array(65536);
    for (let b = 0; b < 65536; b++) f16Table[b] = f16ToNumber(b);
  }
  const bits = h.data as Uint16Array;
  const out = new Float64Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16Table[bits[i]];
  return out;
}

/** check() and bind() convert the same weights: the last conversion of each weight buffer is kept. */
const converted = new WeakMap<object, Map<string, NBitsWeight>>();

/** Whether x is exactly representable in `t` (memoised: the bench weights have few distinct scales). */
function exactIn(t: FloatDType, x: number): boolean {
  const key = `${t}:${x}`;
  let r = exactMemo.get(key);
  if (r === undefined) {
    r = t === 'f32' ? Math.fround(x) === x : toFloat64(t, fromFloat64(t, [x]))[0] === x;
    exactMemo.set(key, r);
  }
  return r;
}

const dequantMemo = { f16: new Map<number, (boolean | undefined)[]>(), f32: new Map<number, (boolean | undefined)[]>() };

/** Whether MatMulNBits in compute type t dequantizes (q − zp)·s to s·q − zp·s exactly for every 4-bit q (memoised per scale: millions of groups, few scales). */
function dequantExact(t: 'f16' | 'f32', s: number, zp: number): boolean {
  let perZp = dequantMemo[t].get(s);
  if (!perZp) dequantMemo[t].set(s, (perZp = []));
  let r = perZp[zp];
  if (r === undefined) {
    r = exactIn(t, s) && exactIn(t, zp * s);
    for (let q = 0; r && q < 16; q++) r = exactIn(t, q * s) && exactIn(t, (q - zp) * s);
    perZp[zp] = r;
  }
  return r;
}

/** MLX mlx4 weights [N, K] (u32 words, scales and biases [N, K/group]) → MatMulNBits inputs in compute type t; throws PeerUnsupported where not exact. */
export function mlxToMatMulNBits(w: HostTensor, scales: HostTensor, biases: HostTensor, group: number, t: 'f16' | 'f32'): NBitsWeight {
  const key = `${t}:${group}`;
  const hit = converted.get(w.data)?.get(key);
  if (hit && converted.get(scales.data)?.get(key) === hit && converted.get(biases.data)?.get(key) === hit) return hit;
  const res = convert(w, scales, biases, group, t);
  for (const d of [w.data, scales.data, biases.data]) {
    if (!converted.has(d)) converted.set(d, new Map());
    converted.get(d)!.set(key, res);
  }
  return res;
}

function convert(w: HostTensor, scales: HostTensor, biases: HostTensor, group: number, t: 'f16' | 'f32'): NBitsWeight {
  const [n, words] = w.shape;
  const k = words * 8;
  const blocks = k / group;
  if (w.dtype !== 'u32' || !Number.isInteger(blocks)) throw new PeerUnsupported(`MatMulNBits: w must be mlx4 u32 words with K a multiple of the group (${group}), got ${w.dtype}[${w.shape.join(',')}]`);
  const s = decode(scales);
  const bias = decode(biases);
  const zpBytes = Math.ceil(blocks / 2);
  const zps = new Uint8Array(n * zpBytes);
  let all8 = true;
  for (let row = 0; row < n; row++)
    for (let g = 0; g < blocks; g++) {
      const i = row * blocks + g;
      const zp = s[i] === 0 ? NaN : -bias[i] / s[i];
      const where = `row ${row}, group ${g} (scale ${s[i]}, bias ${bias[i]})`;
      if (!(Number.isInteger(zp) && zp >= 0 && zp <= 15 && -zp * s[i] === bias[i])) {
        throw new PeerUnsupported(`MLX affine weights do not convert exactly to MatMulNBits: at ${where}, −bias/scale = ${zp} is not an integer zero point in [0, 15]`);
      }
      if (!dequantExact(t, s[i], zp)) throw new PeerUnsupported(`MatMulNBits in ${t} cannot dequantize exactly at ${where}: (q − ${zp})·scale rounds in ${t}`);
      if (zp !== 8) all8 = false;
      zps[row * zpBytes + (g >> 1)] |= zp << ((g & 1) * 4);
    }
  const data = w.data as Uint32Array;
  return {
    b: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    bDims: [n, blocks, group / 2],
    // Exact in t (checked above): f16 scales are passed on as they are.
    scales: t === 'f32' ? Float32Array.from(s) : scales.dtype === 'f16' ? (scales.data as Uint16Array) : (fromFloat64('f16', s) as Uint16Array),
    zeroPoints: all8 ? undefined : zps,
  };
}

/**
 * MLX mlx4 weights that MatMulNBits holds exactly (the bench's): random nibbles; per group a
 * scale of 7 significant bits (±m·2^e, m in [64, 127], e in [−13, −11]) and a zero point zp
 * (8 for 'sym', uniform in [0, 15] for 'asym'), bias = −zp·scale. Every product (q − zp)·s
 * then has at most 11 significant bits: exact in f16, so both sides multiply the same weights.
 */
export function nbitsExactWeights(n: number, k: number, group: number, zp: 'sym' | 'asym', seed: number): { w: HostTensor; scales: HostTensor; biases: HostTensor } {
  const r = rng(seed);
  const words = new Uint32Array((n * k) / 8);
  for (let i = 0; i < words.length; i++) words[i] = Math.floor(r() * 4294967296) >>> 0;
  const groups = (n * k) / group;
  const sBits = new Uint16Array(groups);
  const bBits = new Uint16Array(groups);
  // 384 distinct scales × 16 zero points: their f16 encodings memoised (numberToF16 per group is slow at 10⁶ groups).
  const enc = new Map<number, number>();
  const f16 = (x: number) => {
    let b = enc.get(x);
    if (b === undefined) enc.set(x, (b = numberToF16(x)));
    return b;
  };
  for (let g = 0; g < groups; g++) {
    const m = 64 + Math.floor(r() * 64);
    const e = -13 + Math.floor(r() * 3);
    const sg = (r() < 0.5 ? -1 : 1) * m * 2 ** e;
    const z = zp === 'sym' ? 8 : Math.floor(r() * 16);
    sBits[g] = f16(sg);
    bBits[g] = f16(-z * sg || 0); // −0 for z = 0 stored as +0: the same weight, a plainer bias
  }
  const sShape = [n, k / group];
  return {
    w: { dtype: 'u32', shape: [n, k / 8], data: words },
    scales: { dtype: 'f16', shape: sShape, data: sBits },
    biases: { dtype: 'f16', shape: sShape, data: bBits },
  };
}
