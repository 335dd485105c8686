import { ropeApply } from '../rope/apply.js';
import type { RopeOpts } from '../rope/options.js';
import type { RefTensor } from '../types.js';

/** RoPE backward in float64: dx = m·R(pos·inv_freq)ᵀ·dy = m·R(−pos·inv_freq)·dy (a rotation is orthogonal). */
export function ropeBackwardRef(dy: RefTensor, positions: RefTensor | undefined, o: RopeOpts): Float64Array {
  return ropeApply(dy, positions, o, -1).out;
}
