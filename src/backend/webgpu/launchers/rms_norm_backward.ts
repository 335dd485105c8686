import { BYTES } from '../../../dtype.js';
import { rowsCols } from '../../../ops/check.js';
import { dtCode } from '../pipelines.js';
import { defineParams, packParams } from '../params.js';
import { grid, reductionTiers, rowChunks, windowOf, type Launcher } from '../launch.js';

export const RMS_NORM_BACKWARD_PARAMS = defineParams([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['rs_base', 'u32'],
  ['rstd_base', 'u32'],
  ['eps', 'f32'],
]);

export const RMS_NORM_DW_PARAMS = defineParams([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['chunk_rows', 'u32'],
  ['chunks', 'u32'],
  ['x_base', 'u32'],
  ['rs_base', 'u32'],
  ['out_base', 'u32'],
]);

/** Rows summed by one invocation for dw before the second level. */
const DW_CHUNK = 64;
const DW_WG = 256;

/**
 * dx: one workgroup per row. dw: column sums over rows in two deterministic levels —
 * partials of DW_CHUNK rows, then a sum of the partials (skipped when one chunk suffices).
 */
export const rmsNormBackwardLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, o, outs) {
    const x = i.x;
    const [rows, n] = rowsCols(x.shape);
    const dx = ctx.output(outs.dx);
    const dw = ctx.output(outs.dw);
    const rs = ctx.output({ dtype: 'f32', shape: [rows] });
    const dt = dtCode(x.dtype);
    const wg = n >= 1024 ? 256 : n >= 256 ? 128 : 64;
    const chunks = rowChunks(ctx, rows, n * Math.max(4, BYTES[x.dtype]));
    const totalParts = chunks.reduce((s, [a, b]) => s + Math.ceil((b - a) / DW_CHUNK), 0);
    const part = totalParts > 1 ? ctx.output({ dtype: 'f32', shape: [totalParts, n] }) : undefined;
    let partRow = 0;
    for (const [r0, r1] of chunks) {
      const cnt = (r1 - r0) * n;
      const dyw = windowOf(ctx, i.dy, 0, r0 * n, cnt);
      const xw = windowOf(ctx, x, 1, r0 * n, cnt);
      const dxw = windowOf(ctx, dx, 3, r0 * n, cnt);
      const rsw = windowOf(ctx, rs, 4, r0, r1 - r0);
      const bindings = [dyw.b, xw.b, { binding: 2, buffer: ctx.buffer(i.weight) }, dxw.b, rsw.b];
      let rstdBase = 0;
      if (i.rstd) {
        const sw = windowOf(ctx, i.rstd, 5, r0, r1 - r0);
        bindings.push(sw.b);
        rstdBase = sw.base;
      }
      const g = grid(ctx, r1 - r0);
      ctx.rt.dispatch({
        pipeline: { shader: 'norm/rms_norm_backward.wgsl', defines: { X_DT: dt, HAS_RSTD: !!i.rstd, SUBGROUPS: tier === 'subgroups', ATOMIC_OUT: n % 2 === 1 }, overrides: { WG: wg } },
        bindings,
        params: { binding: 6, data: packParams(RMS_NORM_BACKWARD_PARAMS, { rows: r1 - r0, n, groups_x: g.groupsX, x_base: xw.base, rs_base: rsw.base, rstd_base: rstdBase, eps: o.eps }) },
        workgroups: g.workgroups,
      });
      const parts = Math.ceil((r1 - r0) / DW_CHUNK);
      const dyc = windowOf(ctx, i.dy, 0, r0 * n, cnt);
      const xc = windowOf(ctx, x, 1, r0 * n, cnt);
      const rsc = windowOf(ctx, rs, 2, r0, r1 - r0);
      const target = part ? windowOf(ctx, part, 3, partRow * n, parts * n) : windowOf(ctx, dw, 3, 0, n);
      ctx.rt.dispatch({
        pipeline: { shader: 'norm/rms_norm_dw.wgsl', defines: { X_DT: dt, PARTIAL: true }, overrides: { WG: DW_WG } },
        bindings: [dyc.b, xc.b, rsc.b, target.b],
        params: { binding: 4, data: packParams(RMS_NORM_DW_PARAMS, { rows: r1 - r0, n, chunk_rows: DW_CHUNK, chunks: parts, x_base: xc.base, rs_base: rsc.base, out_base: target.base }) },
        workgroups: [Math.ceil(n / DW_WG), parts],
      });
      partRow += parts;
    }
    if (part) {
      ctx.rt.dispatch({
        pipeline: { shader: 'norm/rms_norm_dw.wgsl', defines: { X_DT: dt, PARTIAL: false }, overrides: { WG: DW_WG } },
        bindings: [{ binding: 2, buffer: ctx.buffer(part) }, { binding: 3, buffer: ctx.buffer(dw) }],
        params: { binding: 4, data: packParams(RMS_NORM_DW_PARAMS, { rows, n, chunk_rows: DW_CHUNK, chunks: totalParts, x_base: 0, rs_base: 0, out_base: 0 }) },
        workgroups: [Math.ceil(n / DW_WG), 1],
      });
      part.dispose();
    }
    rs.dispose();
    return { dx, dw };
  },
};
