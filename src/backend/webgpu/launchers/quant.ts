import type { QuantDims } from '../../../ops/quant/formats.js';
import type { Tensor } from '../../../tensor.js';
import { dtCode } from '../pipelines.js';
import type { Binding } from '../runtime.js';
import { windowOf, type LaunchContext } from '../launch.js';

/**
 * What the quantized kernels share (wgsl/quant/decode.wgsl): the format's switches and the
 * bindings of rows [r0, r1) of W — the packed weight at 0, MLX scales and biases at 1 and 2 —
 * with the Params fields that locate them.
 */
export function quantDefines(d: QuantDims): Record<string, number | boolean> {
  switch (d.format) {
    case 'mlx4':
    case 'mlx8':
      return { MLX: true, BITS8: d.format === 'mlx8', S_DT: dtCode(d.scaleDtype!) };
    case 'q8_0':
      return { Q8_0: true };
    case 'q4_k':
      return { Q4_K: true };
    case 'q6_k':
      return { Q6_K: true };
    default:
      return {};
  }
}

export interface QuantWindows {
  bindings: Binding[];
  params: { w_base: number; row_units: number; s_base: number; group: number; gpr: number };
}

export function quantWindows(ctx: LaunchContext, d: QuantDims, i: Record<string, Tensor>, r0: number, r1: number): QuantWindows {
  const ww = windowOf(ctx, i.w, 0, r0 * d.rowUnits, (r1 - r0) * d.rowUnits);
  const bindings = [ww.b];
  const gpr = d.k / d.group;
  let sBase = 0;
  if (d.info.kind === 'mlx') {
    const sw = windowOf(ctx, i.scales, 1, r0 * gpr, (r1 - r0) * gpr);
    const bw = windowOf(ctx, i.biases, 2, r0 * gpr, (r1 - r0) * gpr);
    // scales and biases have one shape and dtype, so their windows put row r0 at one base.
    bindings.push(sw.b, bw.b);
    sBase = sw.base;
  }
  return { bindings, params: { w_base: ww.base, row_units: d.rowUnits, s_base: sBase, group: d.group, gpr } };
}

/** Bytes of one row of W in its bindings (the chunking unit). */
export function quantRowBytes(d: QuantDims): number {
  return d.info.kind === 'mlx' ? Math.max(d.rowUnits * 4, (d.k / d.group) * (d.scaleDtype === 'f32' ? 4 : 2)) : d.rowUnits;
}
