import type { LoraOpts } from '../../../ops/fused_lora_forward/reference.js';
import { gemmOptions } from '../../../ops/gemm/spec.js';
import { PROJS, projOpts, weightName, type Proj } from '../../../ops/fused_mlp/reference.js';
import type { Tensor } from '../../../tensor.js';
import { reshapeOwned, viewAs } from '../../view.js';
import type { LaunchContext, Launcher, WebGpuTier } from '../launch.js';
import { fusedLoraForwardLauncher } from './fused_lora.js';
import { gemmLauncher } from './gemm.js';
import { swigluLauncher } from './swiglu.js';

/**
 * One projection of a [T, in] operand: fused_lora_forward's launches when the adapter is
 * given (y in the dtype, xa in f32), else one gemm, y = x·Wᵀ in the dtype.
 */
export function projForward(ctx: LaunchContext, tier: WebGpuTier, x: Tensor, i: Record<string, Tensor>, p: Proj, o: LoraOpts): { y: Tensor; xa?: Tensor } {
  const w = i[weightName(p)];
  const t = x.shape[0];
  const y = { dtype: x.dtype, shape: [t, w.shape[0]] };
  const a = i[`${p}A`];
  if (a) {
    const r = fusedLoraForwardLauncher.launch(ctx, tier, { x, weight: w, loraA: a, loraB: i[`${p}B`] }, projOpts(o, p), { y, xa: { dtype: 'f32', shape: [t, a.shape[0]] } });
    return { y: r.y, xa: r.xa };
  }
  return { y: gemmLauncher.launch(ctx, tier, { a: x, b: w }, gemmOptions.parse({ transB: true, outDtype: x.dtype }), { y }).y };
}

/**
 * g and u (two projections of x, each fused_lora's launches or a gemm), h = swiglu(g, u) in
 * the dtype (swiglu's kernel), y = the down projection of h. The gate and up products stay
 * two launches over x rather than one over a concatenated [2I, K] weight: W_g and W_u are
 * separate (frozen, possibly shared) tensors, and concatenating them would copy 2·I·K
 * elements every call.
 */
export const fusedMlpLauncher: Launcher = {
  tiers: (d, f) => gemmLauncher.tiers(d, f),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as LoraOpts & { recompute: boolean };
    const x = i.x;
    const k = x.shape[x.shape.length - 1];
    const x2 = viewAs(x, [x.size / k, k]);
    const g = projForward(ctx, tier, x2, i, 'gate', o);
    const u = projForward(ctx, tier, x2, i, 'up', o);
    const h = swigluLauncher.launch(ctx, 'portable', { gate: g.y, up: u.y }, {}, { y: { dtype: x.dtype, shape: g.y.shape } }).y;
    const d = projForward(ctx, tier, h, i, 'down', o);
    h.dispose();
    const res: Record<string, Tensor> = { y: reshapeOwned(d.y, outs.y.shape) };
    const xa: Record<Proj, Tensor | undefined> = { gate: g.xa, up: u.xa, down: d.xa };
    for (const p of PROJS) if (xa[p]) res[`${p}Xa`] = reshapeOwned(xa[p]!, outs[`${p}Xa`].shape);
    if (o.recompute) {
      g.y.dispose();
      u.y.dispose();
    } else {
      res.gate = reshapeOwned(g.y, outs.gate.shape);
      res.up = reshapeOwned(u.y, outs.up.shape);
    }
    return res;
  },
};
