import type { DType } from '../../../dtype.js';

/** The MSL type suffix of a kernel instantiation (`rms_norm_f16`, `softmax_bf16`, …). */
export function dtSuffix(d: DType): 'f32' | 'f16' | 'bf16' {
  if (d === 'f32' || d === 'f16' || d === 'bf16') return d;
  throw new Error(`[metal] no MSL instantiation for ${d}`);
}

/** Threads per threadgroup for a row of n elements (one threadgroup a row): whole SIMD-groups. */
export function rowThreads(n: number): number {
  return n >= 1024 ? 256 : n >= 256 ? 128 : n >= 64 ? 64 : 32;
}
