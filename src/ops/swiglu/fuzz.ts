import { fuzzCase, range, rowsAndLength, splitRows, type Rand } from '../fuzz.js';
import { uniform } from '../random.js';
import type { OpCase } from '../types.js';

/** The elementwise shapes both SwiGLU ops draw: any leading dims, odd lengths, a gate range that reaches the sigmoid's tails. */
export function elementwiseShape(r: Rand): { shape: number[]; gate: [number, number] } {
  const [rows, n] = rowsAndLength(r, 1 << 16, 20000);
  return { shape: [...splitRows(r, rows), n], gate: range(r, 8, 60) };
}

export function swigluFuzz(r: Rand): OpCase {
  const { shape, gate } = elementwiseShape(r);
  return fuzzCase(`shape=[${shape}],gate=±${gate[1]}`, {}, (dtype, seed) => ({
    gate: uniform(dtype, shape, seed, gate[0], gate[1]),
    up: uniform(dtype, shape, seed + 1, -2, 2),
  }));
}
