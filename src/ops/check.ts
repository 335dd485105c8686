import { z } from 'zod';
import type { DType } from '../dtype.js';
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
  if (t.shape.some((d) => !Number.isInteger(d) || d < 1)) throw new ShapeError(`[${op}] ${name}: every dimension must be a positive integer, got ${fmt(t)}`);
}

/** Leading dimensions flattened to rows, the last one as the row length. */
export function rowsCols(shape: readonly number[]): [number, number] {
  const cols = shape[shape.length - 1];
  return [shape.reduce((a, b) => a * b, 1) / cols, cols];
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
