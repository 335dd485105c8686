import { BYTES, type DType } from '../../../dtype.js';
import { checkQuantWeight, type QuantOptions } from '../../../ops/quant/formats.js';
import { defineParams, packParams } from '../../params.js';
import { dtCode } from '../pipelines.js';
import type { Tensor } from '../../../tensor.js';
import { grid, rowChunks, windowOf, type LaunchContext, type Launcher } from '../launch.js';
import { quantDefines, quantRowBytes, quantWindows } from './quant.js';

export const DEQUANTIZE_PARAMS = defineParams([
  ['n', 'u32'],
  ['k', 'u32'],
  ['groups_x', 'u32'],
  ['w_base', 'u32'],
  ['row_units', 'u32'],
  ['s_base', 'u32'],
  ['group', 'u32'],
  ['gpr', 'u32'],
  ['y_base', 'u32'],
]);

const WG = 256;

/**
 * dequantize (wgsl/quant/dequantize.wgsl): 8 outputs per invocation, rows chunked so every
 * binding's window fits the limits. Portable only: an elementwise decode has nothing for
 * subgroup operations to do.
 */
export const dequantizeLauncher: Launcher = {
  tiers: () => ['portable'],
  launch(ctx, _tier, i, o: QuantOptions, outs) {
    const d = checkQuantWeight('dequantize', i, o);
    const y = ctx.output(outs.y);
    const defines = { ...quantDefines(d), Y_DT: dtCode(y.dtype) };
    for (const [r0, r1] of rowChunks(ctx, d.n, Math.max(quantRowBytes(d), d.k * BYTES[y.dtype]))) {
      const n = r1 - r0;
      const q = quantWindows(ctx, d, i, r0, r1);
      const yw = windowOf(ctx, y, 3, r0 * d.k, n * d.k);
      const g = grid(ctx, Math.ceil((n * d.k) / 8 / WG));
      ctx.rt.dispatch({
        pipeline: { shader: 'quant/dequantize.wgsl', defines, overrides: { WG } },
        bindings: [...q.bindings, yw.b],
        params: { binding: 4, data: packParams(DEQUANTIZE_PARAMS, { n, k: d.k, groups_x: g.groupsX, y_base: yw.base, ...q.params }) },
        workgroups: g.workgroups,
      });
    }
    return { y };
  },
};

/**
 * A quantized weight (inputs w, scales?, biases? of `i`; `o` its format and group) decoded
 * into a fresh [n, k] tensor of `dtype` by the dequantize kernel — the temporary W that
 * fused_lora's QLoRA products and quantized_gemm's dequant prefill then multiply densely.
 */
export function dequantizedWeight(ctx: LaunchContext, i: Record<string, Tensor | undefined>, o: QuantOptions, dtype: DType, n: number, k: number): Tensor {
  const q = Object.fromEntries(['w', 'scales', 'biases'].filter((name) => i[name]).map((name) => [name, i[name]!]));
  return dequantizeLauncher.launch(ctx, 'portable', q, { format: o.format, groupSize: o.groupSize }, { y: { dtype, shape: [n, k] } }).y;
}
