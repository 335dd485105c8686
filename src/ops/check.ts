import { z } from 'zod';
import { maxFinite, minNormal, type DType } from '../dtype.js';
import { DTypeError, OptionsError, ShapeError } from '../errors.js';
import type { TensorInfo } from './types.js';

/** Shape and dtype checks; every message reads `[op] arg: expected …, got …`. */
export const fmt = (t: TensorInfo): string => `${t.dtype}[${t.shape.join(',')}]`;

export function required<T>(op: string, name: string, t: T | undefined): T {
  if (t === undefined || t === null) throw new ShapeError(`[${op}] ${name}: required input is missing`);
  return t;
}

export function expectDtype(op: string, name: string, t: TensorInfo, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) throw new DTypeError(`[${op}] ${name}: expected dtype ${allowed.join(' | ')}, got ${fmt(t)}`);
}

export function expectSameDtype(op: string, name: string, t: TensorInfo, like: TensorInfo, likeName: string): void {
  if (t.dtype !== like.dtype) throw new DTypeError(`[${op}] ${name}: expected ${like.dtype} (the dtype of ${likeName}), got ${fmt(t)}`);
}

export function expectShape(op: string, name: string, t: TensorInfo, shape: readonly number[], dtype: DType = t.dtype): void {
  const ok = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!ok) throw new ShapeError(`[${op}] ${name}: expected ${dtype}[${shape.join(',')}], got ${fmt(t)}`);
  if (t.dtype !== dtype) throw new DTypeError(`[${op}] ${name}: expected ${dtype}[${shape.join(',')}], got ${fmt(t)}`);
}

export function expectRank(op: string, name: string, t: TensorInfo, ranks: readonly number[], what: string): void {
  if (!ranks.includes(t.shape.length)) throw new ShapeError(`[${op}] ${name}: expected ${what}, got ${fmt(t)}`);
  // 0 is a valid extent (an empty batch, as in PyTorch); ops say which axes must not be empty.
  if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`[${op}] ${name}: every dimension must be a non-negative integer, got ${fmt(t)}`);
}

/**
 * An axis the op reduces over (or divides by) and cannot be empty while the outputs are not:
 * a typed error instead of a NaN or a kernel launched over nothing.
 */
export function expectNonEmptyAxis(op: string, name: string, t: TensorInfo, axis: number, what: string): void {
  const a = axis < 0 ? t.shape.length + axis : axis;
  if (t.shape[a] === 0) throw new ShapeError(`[${op}] ${name}: ${what} must be ≥ 1 (dimension ${a}), got ${fmt(t)}`);
}

/**
 * Kernels index a tensor's elements (and pack its sizes and strides into Params) as 32-bit
 * unsigned integers: every input and output of an op holds at most 2^32 − 1 elements.
 */
export function expectIndexable(op: string, name: string, t: TensorInfo): void {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n > 2 ** 32 - 1) throw new ShapeError(`[${op}] ${name}: ${fmt(t)} has ${n} elements, more than 2^32 - 1 (the kernels index elements with 32-bit integers)`);
}

/** Leading dimensions flattened to rows, the last one as the row length (rows of length 0 still count). */
export function rowsCols(shape: readonly number[]): [number, number] {
  const cols = shape[shape.length - 1];
  return [shape.slice(0, -1).reduce((a, b) => a * b, 1), cols];
}

/** Parses options with zod; failures become OptionsError naming the op and the path. */
export function parseOptions<T>(op: string, schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.length ? issue.path.join('.') : 'options';
  throw new OptionsError(`[${op}] ${path}: ${issue.message}`, { cause: r.error });
}

export const finite = () => z.number().refine(Number.isFinite, 'expected a finite number');

/**
 * Range-checked option types. Every option that reaches a kernel is packed as an i32 or an
 * f32 (src/backend/{webgpu,metal}/launchers), so an option is accepted only where that
 * packing keeps its value: a wider integer would wrap, a float beyond f32 would become ±Inf,
 * and a nonzero float below the smallest normal f32 (2^-126) may be flushed to 0 (WGSL and
 * MSL fast math allow it) — each of those silently changes the result, so each is an error.
 */
export const I32_MIN = -(2 ** 31);
export const I32_MAX = 2 ** 31 - 1;
const F32_MAX = maxFinite('f32');
const F32_MIN_NORMAL = minNormal('f32');

/** An integer the kernels take as i32: [−2^31, 2^31 − 1]. */
export const i32Int = () =>
  z
    .number()
    .int()
    .refine((v) => v >= I32_MIN && v <= I32_MAX, { error: (iss) => `expected an integer in [-2^31, 2^31 - 1] (the kernels take it as i32), got ${String(iss.input)}` });

/** A positive float the kernels take as f32 and add or divide by (eps): a normal f32, [2^-126, f32 max]. */
export const positiveNormalF32 = () =>
  finite().refine((v) => v >= F32_MIN_NORMAL && v <= F32_MAX, {
    error: (iss) => `expected a number in [2^-126, 3.4028235e38] (a normal f32: the kernels take it as f32, where a subnormal may be flushed to 0 and a larger value becomes Inf), got ${String(iss.input)}`,
  });

/** A float the kernels take as f32: finite, |v| ≤ f32 max, and 0 or |v| ≥ 2^-126 (a normal f32). */
export const f32Scalar = () =>
  finite().refine((v) => v === 0 || (Math.abs(v) >= F32_MIN_NORMAL && Math.abs(v) <= F32_MAX), {
    error: (iss) => `expected 0 or a magnitude in [2^-126, 3.4028235e38] (the kernels take it as a normal f32; a subnormal may be flushed to 0, a larger value becomes Inf), got ${String(iss.input)}`,
  });
