import { BYTES } from '../../../dtype.js';
import { rowsCols } from '../../../ops/check.js';
import { dtCode } from '../pipelines.js';
import { defineParams, packParams } from '../../params.js';
import { grid, planMode, reductionTiers, rowChunks, vecPlan, windowOf, type Launcher } from '../launch.js';

export const SOFTMAX_PARAMS = defineParams([
  ['rows', 'u32'],
  ['n', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['y_base', 'u32'],
  ['sq', 'u32'],
  ['row0', 'u32'],
  ['offset', 'i32'],
  ['scale', 'f32'],
]);

export const SOFTMAX_VEC_PARAMS = defineParams([
  ['rows', 'u32'],
  ['nv', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['y_base', 'u32'],
  ['sq', 'u32'],
  ['row0', 'u32'],
  ['offset', 'i32'],
  ['scale', 'f32'],
  ['n', 'u32'],
]);

/** Rows of a multiple of 16 bytes that fit in registers take softmax/softmax_vec.wgsl (one read, one write). */
export const softmaxLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, o, outs) {
    const x = i.x;
    const [rows, n] = rowsCols(x.shape);
    const y = ctx.output(outs.y);
    const sq = o.causal ? x.shape[x.shape.length - 2] : 1;
    const offset = o.queryOffset ?? n - sq;
    // 4 words per invocation: softmax's two reductions favour fewer, fuller lanes (H100:
    // f16 32×4096² 2311 GB/s against 1987 for 'wide', causal 32×2048² 2233 against 1467).
    const vec = vecPlan(n, BYTES[x.dtype], ctx.limits.maxComputeInvocationsPerWorkgroup, planMode('mid'));
    const wg = n >= 1024 ? 256 : n >= 256 ? 128 : 64;
    for (const [r0, r1] of rowChunks(ctx, rows, n * BYTES[x.dtype])) {
      const xw = windowOf(ctx, x, 0, r0 * n, (r1 - r0) * n);
      const yw = windowOf(ctx, y, 1, r0 * n, (r1 - r0) * n);
      const g = grid(ctx, r1 - r0);
      if (vec) {
        ctx.rt.dispatch({
          pipeline: { shader: 'softmax/softmax_vec.wgsl', defines: { X_DT: dtCode(x.dtype), CAUSAL: o.causal, SUBGROUPS: tier === 'subgroups', VPT: vec.vpt }, overrides: { WG: vec.wg } },
          bindings: [xw.b, yw.b],
          params: {
            binding: 2,
            data: packParams(SOFTMAX_VEC_PARAMS, { rows: r1 - r0, nv: vec.nv, groups_x: g.groupsX, x_base: xw.base / vec.epv, y_base: yw.base / vec.epv, sq, row0: r0, offset, scale: o.scale, n }),
          },
          workgroups: g.workgroups,
        });
        continue;
      }
      ctx.rt.dispatch({
        pipeline: { shader: 'softmax/softmax.wgsl', defines: { X_DT: dtCode(x.dtype), CAUSAL: o.causal, SUBGROUPS: tier === 'subgroups', ATOMIC_OUT: n % 2 === 1 }, overrides: { WG: wg } },
        bindings: [xw.b, yw.b],
        params: {
          binding: 2,
          data: packParams(SOFTMAX_PARAMS, { rows: r1 - r0, n, groups_x: g.groupsX, x_base: xw.base, y_base: yw.base, sq, row0: r0, offset, scale: o.scale }),
        },
        workgroups: g.workgroups,
      });
    }
    return { y };
  },
};
