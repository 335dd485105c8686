import type { AdamwOpts } from '../../../ops/fused_adamw_step/reference.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalLauncher } from '../launch.js';
import { dtSuffix } from './common.js';

/** AdamwReduceParams in msl/optim/adamw.metal. */
export const ADAMW_REDUCE_PARAMS = defineParams([
  ['count', 'u32'],
  ['span', 'u32'],
]);
/** AdamwFinalizeParams. */
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
/** AdamwUpdateParams. */
export const ADAMW_UPDATE_PARAMS = defineParams([
  ['count', 'u32'],
  ['beta1', 'f32'],
  ['c1', 'f32'],
  ['beta2', 'f32'],
  ['c2', 'f32'],
  ['eps', 'f32'],
]);

const LIB = 'optim/adamw.metal';
const TG = 256;
const MAX_PARTS = 1024;

/**
 * AdamW in three passes of one command buffer: the gradient pre-pass (a partial per
 * threadgroup), one threadgroup for the norm, clip, flags and per-segment constants, the
 * update (one thread an element). The skip decision stays on the GPU, in `table`. In place
 * (`inPlace`), adamw_update_inplace writes src/m/v (and the 16-bit params) themselves; a
 * `flag` input is OR-ed into.
 */
export const fusedAdamwStepLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, opts, outs) {
    const o = opts as AdamwOpts;
    const P = i.params.size;
    const master = i.master;
    const inPlace = !!o.inPlace;
    const out = {
      params: inPlace ? i.params : ctx.output(outs.params),
      ...(master ? { master: inPlace ? master : ctx.output(outs.master) } : {}),
      m: inPlace ? i.m : ctx.output(outs.m),
      v: inPlace ? i.v : ctx.output(outs.v),
      flag: i.flag ?? ctx.output(outs.flag),
      gradNorm: ctx.output(outs.gradNorm),
    };
    const span = Math.max(16 * TG, Math.ceil(P / MAX_PARTS));
    const parts = Math.ceil(P / span);
    const part = ctx.output({ dtype: 'f32', shape: [2 * parts] });
    const gs = dtSuffix(i.grads.dtype);
    ctx.dispatch({
      library: LIB,
      fn: `adamw_reduce_${gs}`,
      buffers: [
        { index: 0, tensor: i.grads },
        { index: 1, tensor: part },
      ],
      bytes: [{ index: 2, data: packParams(ADAMW_REDUCE_PARAMS, { count: P, span }) }],
      grid: [parts, 1, 1],
      threadgroup: [TG, 1, 1],
    });
    const nseg = i.segments ? i.segments.size - 1 : 0;
    const n = Math.max(1, nseg);
    const table = ctx.output({ dtype: 'u32', shape: [8 + 3 * n + 1] });
    ctx.dispatch({
      library: LIB,
      fn: 'adamw_finalize',
      constants: [
        { index: 0, type: 'bool', value: !!i.segments },
        { index: 1, type: 'bool', value: !!i.scalars },
        { index: 3, type: 'bool', value: !!i.flag },
        { index: 4, type: 'bool', value: !!i.normSq },
      ],
      buffers: [
        { index: 0, tensor: part },
        { index: 1, tensor: table },
        { index: 2, tensor: out.flag },
        { index: 3, tensor: out.gradNorm },
        ...(i.segments ? [{ index: 4, tensor: i.segments }, { index: 5, tensor: i.groups }] : []),
        ...(i.scalars ? [{ index: 6, tensor: i.scalars }] : []),
        ...(i.normSq ? [{ index: 8, tensor: i.normSq }] : []),
      ],
      bytes: [
        {
          index: 7,
          data: packParams(ADAMW_FINALIZE_PARAMS, {
            parts,
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
      ],
      grid: [1, 1, 1],
      threadgroup: [TG, 1, 1],
    });
    const update = packParams(ADAMW_UPDATE_PARAMS, { count: P, beta1: o.beta1, c1: 1 - o.beta1, beta2: o.beta2, c2: 1 - o.beta2, eps: o.eps });
    const suffix = `${dtSuffix(i.params.dtype)}_${gs}`;
    ctx.dispatch({
      library: LIB,
      fn: inPlace ? `adamw_update_inplace_${suffix}` : `adamw_update_${suffix}`,
      constants: [
        { index: 0, type: 'bool', value: !!i.segments },
        { index: 2, type: 'bool', value: !!master },
      ],
      buffers: inPlace
        ? [
            { index: 0, tensor: master ?? i.params },
            { index: 1, tensor: i.grads },
            { index: 2, tensor: i.m },
            { index: 3, tensor: i.v },
            { index: 4, tensor: table },
            ...(master ? [{ index: 5, tensor: i.params }] : []),
          ]
        : [
            { index: 0, tensor: master ?? i.params },
            { index: 1, tensor: i.grads },
            { index: 2, tensor: i.m },
            { index: 3, tensor: i.v },
            { index: 4, tensor: table },
            { index: 5, tensor: out.params },
            ...(master ? [{ index: 6, tensor: out.master! }] : []),
            { index: 7, tensor: out.m },
            { index: 8, tensor: out.v },
          ],
      bytes: [{ index: 9, data: update }],
      grid: [Math.ceil(P / TG), 1, 1],
      threadgroup: [TG, 1, 1],
    });
    part.dispose();
    table.dispose();
    return out;
  },
};
