import { BYTES } from '../../../dtype.js';
import type { Tensor } from '../../../tensor.js';
import { dtCode } from '../pipelines.js';
import { defineParams, packParams } from '../../params.js';
import { grid, rowChunks, windowOf, type LaunchContext, type Launcher } from '../launch.js';

export const FLAT_PARAMS = defineParams([
  ['count', 'u32'],
  ['groups_x', 'u32'],
  ['base', 'u32'],
]);

const WG = 256;
/** Element ranges whose bindings fit the limits; starts stay even (whole words). */
export function flatChunks(ctx: LaunchContext, count: number, elemBytes: number): [number, number][] {
  const blocks = rowChunks(ctx, Math.ceil(count / 512), 512 * elemBytes);
  return blocks.map(([a, b]) => [a * 512, Math.min(count, b * 512)]);
}

/**
 * Elementwise launch: bindings in order (inputs then outputs). Tensors that fill whole
 * 16-byte words take `vecShader` (one word per invocation); the rest one element pair per
 * invocation.
 */
export function launchFlat(ctx: LaunchContext, shader: string, defines: Record<string, number | boolean>, tensors: Tensor[], paramsBinding: number, vecShader?: string): void {
  const t0 = tensors[0];
  const eb = BYTES[t0.dtype];
  if (vecShader && (t0.size * eb) % 16 === 0) {
    const epv = 16 / eb;
    for (const [a, b] of flatChunks(ctx, t0.size, eb)) {
      const ws = tensors.map((t, k) => windowOf(ctx, t, k, a, b - a));
      const words = (b - a) / epv;
      const g = grid(ctx, Math.ceil(words / WG));
      ctx.rt.dispatch({
        pipeline: { shader: vecShader, defines, overrides: { WG } },
        bindings: ws.map((w) => w.b),
        params: { binding: paramsBinding, data: packParams(FLAT_PARAMS, { count: words, groups_x: g.groupsX, base: ws[0].base / epv }) },
        workgroups: g.workgroups,
      });
    }
    return;
  }
  for (const [a, b] of flatChunks(ctx, t0.size, eb)) {
    const ws = tensors.map((t, k) => windowOf(ctx, t, k, a, b - a));
    const words = Math.ceil(((ws[0].base & 1) + (b - a)) / 2);
    const g = grid(ctx, Math.ceil(words / WG));
    ctx.rt.dispatch({
      pipeline: { shader, defines, overrides: { WG } },
      bindings: ws.map((w) => w.b),
      params: { binding: paramsBinding, data: packParams(FLAT_PARAMS, { count: b - a, groups_x: g.groupsX, base: ws[0].base }) },
      workgroups: g.workgroups,
    });
  }
}

/** Elementwise ops gain nothing from subgroups: one tier. */
export const swigluLauncher: Launcher = {
  tiers: () => ['portable'],
  launch(ctx, _tier, i, _o, outs) {
    const y = ctx.output(outs.y);
    launchFlat(ctx, 'elementwise/swiglu.wgsl', { X_DT: dtCode(i.gate.dtype), BACKWARD: false, ATOMIC_OUT: false }, [i.gate, i.up, y], 5, 'elementwise/swiglu_vec.wgsl');
    return { y };
  },
};

export const swigluBackwardLauncher: Launcher = {
  tiers: () => ['portable'],
  launch(ctx, _tier, i, _o, outs) {
    const dgate = ctx.output(outs.dgate);
    const dup = ctx.output(outs.dup);
    launchFlat(ctx, 'elementwise/swiglu.wgsl', { X_DT: dtCode(i.gate.dtype), BACKWARD: true, ATOMIC_OUT: false }, [i.dy, i.gate, i.up, dgate, dup], 5, 'elementwise/swiglu_vec.wgsl');
    return { dgate, dup };
  },
};
