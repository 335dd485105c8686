import { BYTES } from '../../../dtype.js';
import { rowsCols } from '../../../ops/check.js';
import { dtCode } from '../pipelines.js';
import { defineParams, packParams } from '../../params.js';
import { grid, reductionTiers, rowChunks, vecPlan, windowOf, type Launcher } from '../launch.js';

export const RMS_NORM_PARAMS = defineParams([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['y_base', 'u32'],
  ['res_base', 'u32'],
  ['h_base', 'u32'],
  ['rstd_base', 'u32'],
  ['eps', 'f32'],
]);

export const RMS_NORM_VEC_PARAMS = defineParams([
  ['rows', 'u32'],
  ['nv', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['y_base', 'u32'],
  ['res_base', 'u32'],
  ['h_base', 'u32'],
  ['rstd_base', 'u32'],
  ['n', 'u32'],
  ['eps', 'f32'],
]);

/**
 * One workgroup per row; rows are chunked so every binding fits the adapter's limits.
 * Rows of a multiple of 16 bytes that fit in registers take norm/rms_norm_vec.wgsl.
 */
export const rmsNormLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, o, outs) {
    const x = i.x;
    const [rows, n] = rowsCols(x.shape);
    const y = ctx.output(outs.y);
    const rstd = ctx.output(outs.rstd);
    const h = outs.residual ? ctx.output(outs.residual) : undefined;
    const residual = !!i.residual;
    // Rows of whole 16-byte words held in registers (norm/rms_norm_vec.wgsl, bases in words);
    // otherwise one workgroup streams each row by word pairs (norm/rms_norm.wgsl).
    const vec = vecPlan(n, BYTES[x.dtype], ctx.limits.maxComputeInvocationsPerWorkgroup);
    const unit = vec ? vec.epv : 1;
    const wg = n >= 1024 ? 256 : n >= 256 ? 128 : 64;
    for (const [r0, r1] of rowChunks(ctx, rows, n * BYTES[x.dtype])) {
      const cnt = (r1 - r0) * n;
      const xw = windowOf(ctx, x, 0, r0 * n, cnt);
      const yw = windowOf(ctx, y, 2, r0 * n, cnt);
      const sw = windowOf(ctx, rstd, 3, r0, r1 - r0);
      const bindings = [xw.b, { binding: 1, buffer: ctx.buffer(i.weight) }, yw.b, sw.b];
      let resBase = 0;
      let hBase = 0;
      if (residual && h) {
        const rw = windowOf(ctx, i.residual, 4, r0 * n, cnt);
        const hw = windowOf(ctx, h, 5, r0 * n, cnt);
        bindings.push(rw.b, hw.b);
        resBase = rw.base / unit;
        hBase = hw.base / unit;
      }
      const g = grid(ctx, r1 - r0);
      const common = { rows: r1 - r0, n, groups_x: g.groupsX, x_base: xw.base / unit, y_base: yw.base / unit, res_base: resBase, h_base: hBase, rstd_base: sw.base, eps: o.eps };
      const defines = { X_DT: dtCode(x.dtype), RESIDUAL: residual, SUBGROUPS: tier === 'subgroups' };
      ctx.rt.dispatch(
        vec
          ? {
              pipeline: { shader: 'norm/rms_norm_vec.wgsl', defines: { ...defines, VPT: vec.vpt }, overrides: { WG: vec.wg } },
              bindings,
              params: { binding: 6, data: packParams(RMS_NORM_VEC_PARAMS, { ...common, nv: vec.nv }) },
              workgroups: g.workgroups,
            }
          : {
              pipeline: { shader: 'norm/rms_norm.wgsl', defines: { ...defines, ATOMIC_OUT: n % 2 === 1 }, overrides: { WG: wg } },
              bindings,
              params: { binding: 6, data: packParams(RMS_NORM_PARAMS, common) },
              workgroups: g.workgroups,
            },
      );
    }
    return { y, rstd, ...(h ? { residual: h } : {}) };
  },
};
