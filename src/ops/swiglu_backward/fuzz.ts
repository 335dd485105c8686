import { fuzzCase, type Rand } from '../fuzz.js';
import { uniform } from '../random.js';
import { elementwiseShape } from '../swiglu/fuzz.js';
import type { OpCase } from '../types.js';

export function swigluBackwardFuzz(r: Rand): OpCase {
  const { shape, gate } = elementwiseShape(r);
  return fuzzCase(`shape=[${shape}],gate=±${gate[1]}`, {}, (dtype, seed) => ({
    dy: uniform(dtype, shape, seed, -1, 1),
    gate: uniform(dtype, shape, seed + 1, gate[0], gate[1]),
    up: uniform(dtype, shape, seed + 2, -2, 2),
  }));
}
