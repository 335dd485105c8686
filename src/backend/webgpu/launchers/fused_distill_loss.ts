import { BYTES } from '../../../dtype.js';
import { rowsCols } from '../../../ops/check.js';
import type { DistillLoss, DistillOpts } from '../../../ops/fused_distill_loss/reference.js';
import { defineParams, packParams } from '../../params.js';
import { dtCode } from '../pipelines.js';
import type { Defines } from '../preprocess.js';
import { grid, reductionTiers, rowChunks, windowOf, type Launcher } from '../launch.js';
import { distillJsPlan } from './distill_js_plan.js';

/** loss/distill.wgsl. */
export const DISTILL_PARAMS = defineParams([
  ['rows', 'u32'],
  ['v', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['row0', 'u32'],
  ['inv_t', 'f32'],
  ['scale', 'f32'],
]);
/** loss/distill_backward.wgsl. */
export const DISTILL_BACKWARD_PARAMS = defineParams([
  ['rows', 'u32'],
  ['v', 'u32'],
  ['groups_x', 'u32'],
  ['x_base', 'u32'],
  ['row0', 'u32'],
  ['g_mode', 'u32'],
  ['total', 'u32'],
  ['inv_t', 'f32'],
  ['tau', 'f32'],
]);
/** loss/distill_reduce.wgsl. */
export const DISTILL_REDUCE_PARAMS = defineParams([
  ['rows', 'u32'],
  ['mean', 'u32'],
]);

/** LOSS codes of loss/distill_term.wgsl. */
export const DISTILL_LOSS_CODE: Record<DistillLoss, number> = { kl: 0, reverse_kl: 1, js: 2, soft_ce: 3 };

const WG = 256;
const rowWg = (v: number) => (v >= 1024 ? 256 : v >= 256 ? 128 : 64);

/**
 * One workgroup a row (rows chunked so the logits' windows fit one binding), writing each
 * row's loss (the output itself for 'none', else a scratch that distill_reduce.wgsl sums in a
 * fixed order) and both lse. js with PMETAL_DISTILL_JS_GROUPS=N: N workgroups (at most the
 * chunk's rows) walk the chunk's rows instead, the same arithmetic a row (distill_js_plan.ts).
 */
export const fusedDistillLossLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as DistillOpts;
    const [rows, v] = rowsCols(i.student.shape);
    const loss = ctx.output(outs.loss);
    const lseS = ctx.output(outs.studentLse);
    const lseT = ctx.output(outs.teacherLse);
    const rowLoss = o.reduction === 'none' ? loss : ctx.output({ dtype: 'f32', shape: [rows] });
    const wg = rowWg(v);
    // Read (and validated) for every loss, so a malformed value fails at once.
    const js = distillJsPlan();
    for (const [r0, r1] of rowChunks(ctx, rows, v * BYTES[i.student.dtype])) {
      const sw = windowOf(ctx, i.student, 0, r0 * v, (r1 - r0) * v);
      const tw = windowOf(ctx, i.teacher, 1, r0 * v, (r1 - r0) * v);
      // Persistent js: a 1-D grid of min(N, rows) workgroups (N ≤ 65535, the guaranteed
      // per-dimension limit), p.groups_x their count and so the kernel's row stride.
      const persist = o.loss === 'js' && js.groups > 0;
      const n = Math.min(js.groups, r1 - r0);
      const g = persist ? { workgroups: [n, 1] as [number, number], groupsX: n } : grid(ctx, r1 - r0);
      // Every row on a 16-byte boundary: the one-pass losses read 16-byte words (js: pairs).
      const epv = 16 / BYTES[i.student.dtype];
      const vec = o.loss !== 'js' && v % epv === 0 && sw.base % epv === 0;
      const jsDefines: Defines = o.loss === 'js' ? { PERSIST: persist, JS_U: js.inflight } : {};
      ctx.rt.dispatch({
        pipeline: { shader: 'loss/distill.wgsl', defines: { X_DT: dtCode(i.student.dtype), LOSS: DISTILL_LOSS_CODE[o.loss], SUBGROUPS: tier === 'subgroups', VEC: vec, ...jsDefines }, overrides: { WG: wg } },
        bindings: [sw.b, tw.b, windowOf(ctx, rowLoss, 2, 0, rows).b, windowOf(ctx, lseS, 3, 0, rows).b, windowOf(ctx, lseT, 4, 0, rows).b],
        params: { binding: 5, data: packParams(DISTILL_PARAMS, { rows: r1 - r0, v, groups_x: g.groupsX, x_base: sw.base, row0: r0, inv_t: 1 / o.temperature, scale: o.temperature * o.temperature }) },
        workgroups: g.workgroups,
      });
      if (tw.base !== sw.base) throw new Error('[fused_distill_loss] internal: student and teacher windows differ');
    }
    if (rowLoss !== loss) {
      ctx.rt.dispatch({
        pipeline: { shader: 'loss/distill_reduce.wgsl', defines: {}, overrides: { WG } },
        bindings: [windowOf(ctx, rowLoss, 0, 0, rows).b, windowOf(ctx, loss, 1, 0, 1).b],
        params: { binding: 2, data: packParams(DISTILL_REDUCE_PARAMS, { rows, mean: o.reduction === 'mean' ? 1 : 0 }) },
        workgroups: [1],
      });
      rowLoss.dispose();
    }
    return { loss, studentLse: lseS, teacherLse: lseT };
  },
};

/** One workgroup a row: dz from the saved lse (and, for reverse KL and JS, a row reduction first). */
export const fusedDistillLossBackwardLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as DistillOpts;
    const [rows, v] = rowsCols(i.student.shape);
    const dz = ctx.output(outs.dstudent);
    const wg = rowWg(v);
    const gMode = o.reduction === 'none' ? 0 : o.reduction === 'sum' ? 1 : 2;
    for (const [r0, r1] of rowChunks(ctx, rows, v * BYTES[i.student.dtype])) {
      const sw = windowOf(ctx, i.student, 0, r0 * v, (r1 - r0) * v);
      const tw = windowOf(ctx, i.teacher, 1, r0 * v, (r1 - r0) * v);
      const dw = windowOf(ctx, dz, 5, r0 * v, (r1 - r0) * v);
      const g = grid(ctx, r1 - r0);
      ctx.rt.dispatch({
        pipeline: {
          shader: 'loss/distill_backward.wgsl',
          defines: { X_DT: dtCode(i.student.dtype), LOSS: DISTILL_LOSS_CODE[o.loss], SUBGROUPS: tier === 'subgroups', ATOMIC_OUT: v % 2 === 1 },
          overrides: { WG: wg },
        },
        bindings: [sw.b, tw.b, windowOf(ctx, i.studentLse, 2, 0, rows).b, windowOf(ctx, i.teacherLse, 3, 0, rows).b, windowOf(ctx, i.dloss, 4, 0, i.dloss.size).b, dw.b],
        params: {
          binding: 6,
          data: packParams(DISTILL_BACKWARD_PARAMS, { rows: r1 - r0, v, groups_x: g.groupsX, x_base: sw.base, row0: r0, g_mode: gMode, total: rows, inv_t: 1 / o.temperature, tau: o.temperature }),
        },
        workgroups: g.workgroups,
      });
      if (tw.base !== sw.base || dw.base !== sw.base) throw new Error('[fused_distill_loss_backward] internal: windows differ');
    }
    return { dstudent: dz };
  },
};
