import { ropeApply } from './apply.js';
import type { RopeOpts } from './options.js';
import type { RefTensor } from '../types.js';

/** RoPE in float64: y = m·R(pos·inv_freq)·x on the rotated pairs, the rest copied. */
export function ropeRef(x: RefTensor, positions: RefTensor | undefined, o: RopeOpts): Float64Array {
  return ropeApply(x, positions, o, 1).out;
}
