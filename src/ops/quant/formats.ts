import { z } from 'zod';
import type { DType, FloatDType } from '../../dtype.js';
import { DTypeError, OptionsError, ShapeError } from '../../errors.js';
import { fmt, required } from '../check.js';
import type { TensorInfo } from '../types.js';

/**
 * The quantized weight formats, each loadable as its producer wrote it:
 *
 * - `mlx4`, `mlx8`: MLX's affine format (mlx/ops.cpp `quantize`, mode "affine"). A weight
 *   matrix W [N, K] is `w` u32 [N, K·bits/32] — element k of a row sits in word k/(32/bits) at
 *   bit (k mod (32/bits))·bits, little-endian — plus `scales` and `biases` [N, K/groupSize]
 *   (f16, bf16 or f32): W[n,k] = scales[n,g]·q + biases[n,g], g = k/groupSize.
 * - `q4_0`, `q8_0`, `q4_k`, `q6_k`: GGUF/ggml blocks (llama.cpp ggml/src/ggml-common.h), each row
 *   of W a run of blocks along K, `w` u8 [N, (K/blockK)·blockBytes] exactly as a GGUF file
 *   stores the tensor (blocks of 18, 34, 144 and 210 bytes are not 4-byte aligned, hence u8).
 */
export const QUANT_FORMATS = ['mlx4', 'mlx8', 'q4_0', 'q8_0', 'q4_k', 'q6_k'] as const;
export type QuantFormat = (typeof QUANT_FORMATS)[number];

export interface FormatInfo {
  readonly kind: 'mlx' | 'gguf';
  /** MLX: bits per element. */
  readonly bits?: 4 | 8;
  /** GGUF: elements per block (K must be a multiple) and bytes per block. */
  readonly blockK?: number;
  readonly blockBytes?: number;
}

export const FORMATS: Record<QuantFormat, FormatInfo> = {
  mlx4: { kind: 'mlx', bits: 4 },
  mlx8: { kind: 'mlx', bits: 8 },
  q4_0: { kind: 'gguf', blockK: 32, blockBytes: 18 },
  q8_0: { kind: 'gguf', blockK: 32, blockBytes: 34 },
  q4_k: { kind: 'gguf', blockK: 256, blockBytes: 144 },
  q6_k: { kind: 'gguf', blockK: 256, blockBytes: 210 },
};

/** MLX's group sizes (mlx/ops.cpp affine_quantize accepts exactly these). */
export const MLX_GROUP_SIZES = [32, 64, 128] as const;
export const MLX_DEFAULT_GROUP = 64;

/** The options both quantized ops share: the format and, for MLX, the group size (default 64, as MLX). */
export const quantOptionFields = {
  format: z.enum(QUANT_FORMATS),
  groupSize: z.union([z.literal(32), z.literal(64), z.literal(128)]).optional(),
};

export interface QuantOptions {
  format: QuantFormat;
  groupSize?: 32 | 64 | 128;
}

/** The resolved shape of a quantized W [N, K]. */
export interface QuantDims {
  n: number;
  k: number;
  format: QuantFormat;
  info: FormatInfo;
  /** MLX: the group size; GGUF: the block length. */
  group: number;
  /** Elements of `w` per row (u32 words for MLX, bytes for GGUF). */
  rowUnits: number;
  /** MLX: dtype of scales/biases. */
  scaleDtype?: FloatDType;
}

const QDTYPES: readonly DType[] = ['f32', 'f16', 'bf16'];

/**
 * Checks `w` (and `scales`/`biases` for MLX) against the format and returns W's [N, K].
 * `k` is K when the caller knows it (quantized_gemm: the last dimension of x); else it
 * follows from w's row length.
 */
export function checkQuantWeight(op: string, i: { w?: TensorInfo; scales?: TensorInfo; biases?: TensorInfo }, o: QuantOptions, k?: number): QuantDims {
  const f = FORMATS[o.format];
  const w = required(op, 'w', i.w);
  // N = 0 (no rows) is an empty weight, as PyTorch and MLX allow; a row needs its packed units.
  if (w.shape.length !== 2 || w.shape.some((d) => !Number.isInteger(d) || d < 0) || w.shape[1] < 1) {
    throw new ShapeError(`[${op}] w: expected a 2-D packed weight [N, ${f.kind === 'mlx' ? 'K·bits/32' : 'K/blockK·blockBytes'}], got ${fmt(w)}`);
  }
  const [n, units] = w.shape;
  if (f.kind === 'mlx') {
    if (w.dtype !== 'u32') throw new DTypeError(`[${op}] w: expected u32 words for format ${o.format}, got ${fmt(w)}`);
    const group = o.groupSize ?? MLX_DEFAULT_GROUP;
    const per = 32 / f.bits!;
    const kk = k ?? units * per;
    if (kk % group !== 0) throw new ShapeError(`[${op}] w: K=${kk} must be a multiple of groupSize ${group}`);
    if (units !== kk / per) throw new ShapeError(`[${op}] w: expected u32[${n},${kk / per}] (K=${kk} at ${f.bits} bits), got ${fmt(w)}`);
    const s = required(op, 'scales', i.scales);
    const b = required(op, 'biases', i.biases);
    if (!QDTYPES.includes(s.dtype)) throw new DTypeError(`[${op}] scales: expected dtype f32 | f16 | bf16, got ${fmt(s)}`);
    const sShape = [n, kk / group];
    const same = (t: TensorInfo) => t.shape.length === 2 && t.shape[0] === sShape[0] && t.shape[1] === sShape[1];
    if (!same(s)) throw new ShapeError(`[${op}] scales: expected ${s.dtype}[${sShape.join(',')}] (one per group of ${group}), got ${fmt(s)}`);
    if (!same(b) || b.dtype !== s.dtype) {
      throw new (same(b) ? DTypeError : ShapeError)(`[${op}] biases: expected ${s.dtype}[${sShape.join(',')}] (the dtype and shape of scales), got ${fmt(b)}`);
    }
    return { n, k: kk, format: o.format, info: f, group, rowUnits: units, scaleDtype: s.dtype as FloatDType };
  }
  if (o.groupSize !== undefined) throw new OptionsError(`[${op}] groupSize: only MLX formats have a group size; ${o.format} blocks are ${f.blockK} elements`);
  if (i.scales || i.biases) throw new ShapeError(`[${op}] ${i.scales ? 'scales' : 'biases'}: format ${o.format} keeps its scales inside the blocks of w; pass w alone`);
  if (w.dtype !== 'u8') throw new DTypeError(`[${op}] w: expected u8 bytes (GGUF blocks) for format ${o.format}, got ${fmt(w)}`);
  if (k === undefined && units % f.blockBytes! !== 0) {
    throw new ShapeError(`[${op}] w: expected a whole number of ${f.blockBytes}-byte ${o.format} blocks per row, got ${fmt(w)}`);
  }
  const kk = k ?? (units / f.blockBytes!) * f.blockK!;
  if (kk % f.blockK! !== 0) throw new ShapeError(`[${op}] w: K=${kk} must be a multiple of ${f.blockK} (the ${o.format} block)`);
  if (units !== (kk / f.blockK!) * f.blockBytes!) {
    throw new ShapeError(`[${op}] w: expected u8[${n},${(kk / f.blockK!) * f.blockBytes!}] (K=${kk}: ${kk / f.blockK!} blocks of ${f.blockBytes} bytes), got ${fmt(w)}`);
  }
  return { n, k: kk, format: o.format, info: f, group: f.blockK!, rowUnits: units };
}

/** Bytes of a quantized W [N, K] (the packed weight plus MLX's scales and biases). */
export function quantBytes(d: QuantDims): number {
  if (d.info.kind === 'gguf') return d.n * d.rowUnits;
  const sb = d.scaleDtype === 'f32' ? 4 : 2;
  return d.n * d.rowUnits * 4 + 2 * d.n * (d.k / d.group) * sb;
}
