import type { KernelBackend } from '../../backend/interface.js';
import type { Tensor } from '../../tensor.js';

/**
 * x + y, elementwise (same shape and dtype), one rounding. The KernelBackend interface has
 * no plain add; rms_norm's fused residual add is one (its `residual` output is x + residual),
 * so the backward's residual-stream and fan-in sums ride on it and drop the norm's y and
 * rstd. `ones` is any [N] weight of the dtype (N = the last dim); its values do not matter.
 * Consumes neither input.
 */
export function add(b: KernelBackend, x: Tensor, y: Tensor, ones: Tensor): Tensor {
  const r = b.rmsNorm({ x, weight: ones, residual: y });
  r.y.dispose();
  r.rstd.dispose();
  return r.residual!;
}

/** Sums the tensors (consuming them), left to right. */
export function addAll(b: KernelBackend, xs: Tensor[], ones: Tensor): Tensor {
  let acc = xs[0];
  for (let i = 1; i < xs.length; i++) {
    const next = add(b, acc, xs[i], ones);
    acc.dispose();
    xs[i].dispose();
    acc = next;
  }
  return acc;
}
