import type { AdamwOpts } from '../../../ops/fused_adamw_step/reference.js';
import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import { dtCode } from '../pipelines.js';
import { grid, reductionTiers, windowOf, type Launcher } from '../launch.js';
import { flatChunks } from './swiglu.js';

/** optim/adamw_reduce.wgsl. */
export const ADAMW_REDUCE_PARAMS = defineParams([
  ['count', 'u32'],
  ['span', 'u32'],
  ['part_base', 'u32'],
]);
/** optim/adamw_finalize.wgsl. */
export const ADAMW_FINALIZE_PARAMS = defineParams([
  ['parts', 'u32'],
  ['count', 'u32'],
  ['nseg', 'u32'],
  ['clip_on', 'u32'],
  ['max_norm', 'f32'],
  ['lr', 'f32'],
  ['wd', 'f32'],
  ['bc1', 'f32'],
  ['bc2s', 'f32'],
  ['beta1', 'f32'],
  ['beta2', 'f32'],
]);
/** optim/adamw_update.wgsl. */
export const ADAMW_UPDATE_PARAMS = defineParams([
  ['count', 'u32'],
  ['groups_x', 'u32'],
  ['g0', 'u32'],
  ['beta1', 'f32'],
  ['c1', 'f32'],
  ['beta2', 'f32'],
  ['c2', 'f32'],
  ['eps', 'f32'],
]);
/** optim/adamw_cast.wgsl. */
export const ADAMW_CAST_PARAMS = defineParams([
  ['count', 'u32'],
  ['groups_x', 'u32'],
]);

const WG = 256;
/** Partials per chunk at most: a workgroup then streams ≥ P/1024 elements (bandwidth, not launch). */
const MAX_PARTS = 1024;
/** Elements a reduce workgroup takes at least (8 element pairs per invocation). */
const MIN_SPAN = 16 * WG;

/** Storage bindings of adamw_update.wgsl with the params output and a master (9) — over WebGPU's default 8. */
const UPDATE_BINDINGS_WITH_MASTER = 9;

/**
 * AdamW in a fixed few dispatches, all in one submission: per chunk the gradient pre-pass
 * (Σg², non-finite count → one partial per workgroup), one workgroup for the norm, clip
 * factor, flags and per-segment constants (`table`), then the update per chunk (and, for a
 * master step on an adapter with 8 storage bindings, the 16-bit params from the new master).
 * No host read-back: the skip decision travels in `table`. Chunks are whole 512-element
 * blocks that fit one binding, so every window starts at its tensor's first element.
 * In place (`inPlace`): the update writes src/m/v (and the 16-bit params) in their own
 * buffers — six storage bindings, so never the cast pass; a `flag` input is OR-ed into.
 */
export const fusedAdamwStepLauncher: Launcher = {
  tiers: (_d, f) => reductionTiers(f),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as AdamwOpts;
    const P = i.params.size;
    const master = i.master;
    const src = master ?? i.params;
    const inPlace = !!o.inPlace;
    const out = {
      params: inPlace ? i.params : ctx.output(outs.params),
      ...(master ? { master: inPlace ? master : ctx.output(outs.master) } : {}),
      m: inPlace ? i.m : ctx.output(outs.m),
      v: inPlace ? i.v : ctx.output(outs.v),
      flag: i.flag ?? ctx.output(outs.flag),
      gradNorm: ctx.output(outs.gradNorm),
    };
    const chunks = flatChunks(ctx, P, 4);
    const plan = chunks.map(([a, b]) => {
      const span = Math.max(MIN_SPAN, 2 * Math.ceil((b - a) / (2 * MAX_PARTS)));
      return { a, b, span, parts: Math.ceil((b - a) / span) };
    });
    const totalParts = plan.reduce((s, c) => s + c.parts, 0);
    const part = ctx.output({ dtype: 'f32', shape: [2 * totalParts] });
    const gDt = dtCode(i.grads.dtype);
    let pbase = 0;
    for (const c of plan) {
      const gw = windowOf(ctx, i.grads, 0, c.a, c.b - c.a);
      ctx.rt.dispatch({
        pipeline: { shader: 'optim/adamw_reduce.wgsl', defines: { G_DT: gDt, SUBGROUPS: tier === 'subgroups' }, overrides: { WG } },
        bindings: [gw.b, windowOf(ctx, part, 1, 0, 2 * totalParts).b],
        params: { binding: 2, data: packParams(ADAMW_REDUCE_PARAMS, { count: c.b - c.a, span: c.span, part_base: pbase }) },
        workgroups: [c.parts],
      });
      pbase += c.parts;
    }
    const nseg = i.segments ? i.segments.size - 1 : 0;
    const n = Math.max(1, nseg);
    const table = ctx.output({ dtype: 'u32', shape: [8 + 3 * n + 1] });
    const bindings = [windowOf(ctx, part, 0, 0, 2 * totalParts).b, windowOf(ctx, table, 1, 0, table.size).b, windowOf(ctx, out.flag, 2, 0, 1).b, windowOf(ctx, out.gradNorm, 3, 0, 1).b];
    if (i.segments) bindings.push(windowOf(ctx, i.segments, 4, 0, nseg + 1).b, windowOf(ctx, i.groups, 5, 0, 2 * nseg).b);
    if (i.scalars) bindings.push(windowOf(ctx, i.scalars, 6, 0, 2).b);
    if (i.normSq) bindings.push(windowOf(ctx, i.normSq, 8, 0, 1).b);
    ctx.rt.dispatch({
      pipeline: { shader: 'optim/adamw_finalize.wgsl', defines: { HAS_SEG: !!i.segments, HAS_SCALARS: !!i.scalars, ACC_FLAG: !!i.flag, HAS_NORMSQ: !!i.normSq }, overrides: { WG } },
      bindings,
      params: {
        binding: 7,
        data: packParams(ADAMW_FINALIZE_PARAMS, {
          parts: totalParts,
          count: P,
          nseg,
          clip_on: o.maxGradNorm === undefined ? 0 : 1,
          max_norm: o.maxGradNorm ?? 1,
          lr: o.lr,
          wd: o.weightDecay,
          // The host path's bias corrections in float64, rounded once to f32.
          bc1: 1 - o.beta1 ** o.step,
          bc2s: Math.sqrt(1 - o.beta2 ** o.step),
          beta1: o.beta1,
          beta2: o.beta2,
        }),
      },
      workgroups: [1],
    });
    const split = !inPlace && !!master && ctx.limits.maxStorageBuffersPerShaderStage < UPDATE_BINDINGS_WITH_MASTER;
    for (const [a, b] of chunks) {
      const cnt = b - a;
      const win = (t: Tensor, binding: number) => {
        const w = windowOf(ctx, t, binding, a, cnt);
        if (w.base !== 0) throw new Error(`[fused_adamw_step] internal: chunk window of ${t.describe()} at ${a} has base ${w.base}`);
        return w.b;
      };
      const ub = [win(src, 0), win(i.grads, 1), win(i.m, 2), win(i.v, 3), windowOf(ctx, table, 4, 0, table.size).b];
      // In place, src is the f32 params themselves (no pout) or the master (pout: the 16-bit params).
      const writeP = inPlace ? !!master : !split;
      if (writeP) ub.push(win(out.params, 5));
      if (!inPlace) {
        if (master) ub.push(win(out.master!, 6));
        ub.push(win(out.m, 7), win(out.v, 8));
      }
      const g = grid(ctx, Math.ceil(cnt / 2 / WG));
      ctx.rt.dispatch({
        pipeline: {
          shader: 'optim/adamw_update.wgsl',
          defines: { G_DT: gDt, P_DT: dtCode(i.params.dtype), MASTER: !!master, WRITE_P: writeP, HAS_SEG: !!i.segments, INPLACE: inPlace },
          overrides: { WG },
        },
        bindings: ub,
        params: {
          binding: 9,
          data: packParams(ADAMW_UPDATE_PARAMS, { count: cnt, groups_x: g.groupsX, g0: a, beta1: o.beta1, c1: 1 - o.beta1, beta2: o.beta2, c2: 1 - o.beta2, eps: o.eps }),
        },
        workgroups: g.workgroups,
      });
      if (split) {
        ctx.rt.dispatch({
          pipeline: { shader: 'optim/adamw_cast.wgsl', defines: { P_DT: dtCode(i.params.dtype) }, overrides: { WG } },
          bindings: [win(out.master!, 0), win(out.params, 1)],
          params: { binding: 2, data: packParams(ADAMW_CAST_PARAMS, { count: cnt, groups_x: g.groupsX }) },
          workgroups: g.workgroups,
        });
      }
    }
    part.dispose();
    table.dispose();
    return out;
  },
};

