import { BYTES } from '../../../dtype.js';
import { rowsCols } from '../../../ops/check.js';
import { checkQuantWeight, type QuantOptions } from '../../../ops/quant/formats.js';
import { defineParams, packParams } from '../../params.js';
import { dtCode } from '../pipelines.js';
import { reductionTiers, rowChunks, windowOf, type Launcher } from '../launch.js';
import { quantDefines, quantRowBytes, quantWindows } from './quant.js';

export const QGEMM_PARAMS = defineParams([
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['w_base', 'u32'],
  ['row_units', 'u32'],
  ['s_base', 'u32'],
  ['group', 'u32'],
  ['gpr', 'u32'],
  ['x_base', 'u32'],
  ['y_base', 'u32'],
  ['ldy', 'u32'],
]);

/** Decode kernel (qgemv.wgsl): rows of x per pass (all of them: M ≤ MAX_M) and columns per workgroup. */
export const QGEMV_TILE = { MAX_M: 16, BN: 8 } as const;
/** Prefill kernel (qgemm_tiled.wgsl): the tile of y per workgroup. */
export const QGEMM_TILE = { BM: 64, BN: 64 } as const;

/**
 * quantized_gemm: M ≤ 16 takes the decode kernel (W streamed once, the whole of x per pass),
 * larger M the tiled prefill kernel. Both tiers run both; 'subgroups' reduces the decode
 * kernel's partial sums with subgroup shuffles. W is chunked by rows (columns of y) and x by
 * rows so every binding's window fits the limits.
 */
export const quantizedGemmLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, o: QuantOptions, outs) {
    const x = i.x;
    const [m, k] = rowsCols(x.shape);
    const d = checkQuantWeight('quantized_gemm', i, o, k);
    const y = ctx.output(outs.y);
    const decode = m <= QGEMV_TILE.MAX_M;
    // The decode kernel keeps the next power of two ≥ M accumulators per lane (ROWS).
    const rows = 2 ** Math.ceil(Math.log2(Math.max(1, m)));
    const defines = { ...quantDefines(d), X_DT: dtCode(x.dtype), Y_DT: dtCode(y.dtype), ...(decode ? { SUBGROUPS: tier === 'subgroups', ROWS: rows } : {}) };
    const shader = decode ? 'quant/qgemv.wgsl' : 'quant/qgemm_tiled.wgsl';
    const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
    const xRows = decode ? [[0, m] as [number, number]] : rowChunks(ctx, m, Math.max(k * BYTES[x.dtype], d.n * BYTES[y.dtype]));
    for (const [n0, n1] of rowChunks(ctx, d.n, quantRowBytes(d))) {
      for (const [m0, m1] of xRows) {
        const n = n1 - n0;
        const q = quantWindows(ctx, d, i, n0, n1);
        const xw = windowOf(ctx, x, 3, m0 * k, (m1 - m0) * k);
        const yw = windowOf(ctx, y, 4, m0 * d.n + n0, (m1 - m0 - 1) * d.n + n);
        const gx = Math.ceil(n / (decode ? QGEMV_TILE.BN : QGEMM_TILE.BN));
        const gy = decode ? 1 : Math.ceil((m1 - m0) / QGEMM_TILE.BM);
        if (gx > maxGroups || gy > maxGroups) throw new RangeError(`[quantized_gemm] ${m}×${n} needs ${gx}×${gy} workgroups, over maxComputeWorkgroupsPerDimension (${maxGroups})`);
        ctx.rt.dispatch({
          pipeline: { shader, defines },
          bindings: [...q.bindings, xw.b, yw.b],
          params: { binding: 5, data: packParams(QGEMM_PARAMS, { m: m1 - m0, n, k, x_base: xw.base, y_base: yw.base, ldy: d.n, ...q.params }) },
          workgroups: [gx, gy],
        });
      }
    }
    return { y };
  },
};
