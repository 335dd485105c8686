import type { Tensor } from '../../../tensor.js';
import { defineParams, packParams } from '../../params.js';
import type { MetalContext, MetalLauncher } from '../launch.js';
import { dtSuffix } from './common.js';

/** FlatParams in msl/elementwise/swiglu.metal. */
export const FLAT_PARAMS = defineParams([['count', 'u32']]);
/** Elements per thread (ELEMS in msl/elementwise/swiglu.metal). */
const ELEMS = 4;

/** An elementwise dispatch over `tensors` (inputs then outputs, bound at 0, 1, …; params after them). */
function launchFlat(ctx: MetalContext, fn: string, tensors: Tensor[]): void {
  const count = tensors[0].size;
  const threadsNeeded = Math.ceil(count / ELEMS);
  const threads = Math.min(256, Math.ceil(threadsNeeded / 32) * 32);
  ctx.dispatch({
    library: 'elementwise/swiglu.metal',
    fn,
    buffers: tensors.map((tensor, index) => ({ index, tensor })),
    bytes: [{ index: tensors.length, data: packParams(FLAT_PARAMS, { count }) }],
    grid: [Math.ceil(threadsNeeded / threads), 1, 1],
    threadgroup: [threads, 1, 1],
  });
}

/** Elementwise: nothing for the neural accelerators to do, so metal3 only. */
export const swigluLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, _o, outs) {
    const y = ctx.output(outs.y);
    launchFlat(ctx, `swiglu_${dtSuffix(i.gate.dtype)}`, [i.gate, i.up, y]);
    return { y };
  },
};

export const swigluBackwardLauncher: MetalLauncher = {
  tiers: () => ['metal3'],
  launch(ctx, _tier, i, _o, outs) {
    const dgate = ctx.output(outs.dgate);
    const dup = ctx.output(outs.dup);
    launchFlat(ctx, `swiglu_backward_${dtSuffix(i.gate.dtype)}`, [i.dy, i.gate, i.up, dgate, dup]);
    return { dgate, dup };
  },
};
