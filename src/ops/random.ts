import { f32ArrayTo16, type DType, type FloatDType } from '../dtype.js';
import type { HostTensor } from './types.js';

/** mulberry32: a tiny seeded generator, so a case id reproduces its inputs exactly. */
export function rng(seed: number): () => number {
  let a = (seed * 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Above this many elements the random block is tiled (bench shapes of gigabytes stay fast to make). */
const TILE = 1 << 20;

/**
 * Uniform floats in [lo, hi), rounded to `dtype` (the reference then sees exactly what the
 * kernel sees): drawn as f32, then rounded to f16/bf16 with the exact bit-level encoder.
 */
export function uniform(dtype: FloatDType, shape: number[], seed: number, lo = -1, hi = 1): HostTensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const m = Math.min(n, TILE);
  const block = new Float32Array(m);
  for (let i = 0; i < m; i++) block[i] = lo + (hi - lo) * r();
  const first = dtype === 'f32' ? block : f32ArrayTo16(dtype, block);
  if (n === m) return { dtype, shape, data: first };
  // Bench-sized tensors: tile the block in the target storage (no full-size f32 temporary).
  const data = dtype === 'f32' ? new Float32Array(n) : new Uint16Array(n);
  data.set(first as never);
  for (let filled = m; filled < n; filled *= 2) data.copyWithin(filled, 0, Math.min(n - filled, filled));
  return { dtype, shape, data };
}

export function randomInts(dtype: Extract<DType, 'i32' | 'u32'>, shape: number[], seed: number, lo: number, hi: number): HostTensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'i32' ? new Int32Array(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + Math.floor((hi - lo) * r());
  return { dtype, shape, data };
}
