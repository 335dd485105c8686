import { Tensor } from '../tensor.js';

/**
 * A launcher-internal view of `t` under another row-major shape over the same storage (the
 * same elements, or a prefix of them): how ops built from other ops' launchers pass a
 * [mb, T, M] tensor as the [mb·T, M] operand of a gemm. The view shares `t`'s storage: it is
 * never disposed and never returned to a caller.
 */
export function viewAs(t: Tensor, shape: readonly number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > t.size) throw new RangeError(`view of ${t.describe()} as [${shape.join(',')}]: more elements than the tensor`);
  return new Tensor(t.owner, t.dtype, shape, t.storage('view'));
}

/**
 * `t`'s storage under another shape of the same size, as a new owning tensor (an output a
 * launcher computed under a flattened shape). `t` itself must be dropped, never disposed.
 */
export function reshapeOwned(t: Tensor, shape: readonly number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== t.size) throw new RangeError(`reshape of ${t.describe()} to [${shape.join(',')}]: another element count`);
  return new Tensor(t.owner, t.dtype, shape, t.storage('reshape'));
}
