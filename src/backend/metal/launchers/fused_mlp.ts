import type { LoraOpts } from '../../../ops/fused_lora_forward/reference.js';
import { PROJS, projOpts, weightName, type Proj } from '../../../ops/fused_mlp/reference.js';
import type { Tensor } from '../../../tensor.js';
import { reshapeOwned, viewAs } from '../../view.js';
import type { MetalContext, MetalLauncher, MetalTier } from '../launch.js';
import { fusedLoraForwardLauncher } from './fused_lora.js';
import { gemmLauncher } from './gemm.js';
import { gemmOn } from './gemm_call.js';
import { rmsNormLauncher } from './rms_norm.js';
import { swigluLauncher } from './swiglu.js';

/** One projection of a [T, in] operand, as on webgpu: fused_lora_forward's launches with the adapter, else one gemm. */
export function projForward(ctx: MetalContext, tier: MetalTier, x: Tensor, i: Record<string, Tensor>, p: Proj, o: LoraOpts): { y: Tensor; xa?: Tensor } {
  const w = i[weightName(p)];
  const t = x.shape[0];
  const k = x.shape[1];
  const y = { dtype: x.dtype, shape: [t, w.shape[0]] };
  const a = i[`${p}A`];
  if (a) {
    const r = fusedLoraForwardLauncher.launch(ctx, tier, { x, weight: w, loraA: a, loraB: i[`${p}B`] }, projOpts(o, p), { y, xa: { dtype: 'f32', shape: [t, a.shape[0]] } });
    return { y: r.y, xa: r.xa };
  }
  return { y: gemmOn(ctx, tier, k, { a: x, b: w }, { transB: true, outDtype: x.dtype as 'f32' }, y) };
}

/**
 * g, u (two projections: fused_lora's launches or a gemm), h = swiglu(g, u) in the dtype, y =
 * the down projection of h: webgpu's composed plan. The one-pass gate/up product with the
 * SwiGLU epilogue (webgpu's gemm_tiled SWIGLU) has no metal gemm_tile counterpart yet.
 * With normWeight, rms_norm's launch first (its residual input gives the sum, residualOut)
 * and n takes x's place.
 */
export const fusedMlpLauncher: MetalLauncher = {
  tiers: (d, chip) => gemmLauncher.tiers(d, chip),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as LoraOpts & { recompute: boolean; eps: number };
    const x = i.x;
    const k = x.shape[x.shape.length - 1];
    const t = x.size / k;
    let x2 = viewAs(x, [t, k]);
    const res: Record<string, Tensor> = {};
    let n: Tensor | undefined;
    if (i.normWeight) {
      const info = { dtype: x.dtype, shape: [t, k] };
      const r = rmsNormLauncher.launch(ctx, 'metal3', { x: x2, weight: i.normWeight, ...(i.residual ? { residual: viewAs(i.residual, [t, k]) } : {}) }, { eps: o.eps }, { y: info, rstd: { dtype: 'f32', shape: [t] }, ...(i.residual ? { residual: info } : {}) });
      if (r.residual) res.residualOut = reshapeOwned(r.residual, outs.residualOut.shape);
      res.rstd = reshapeOwned(r.rstd, outs.rstd.shape);
      x2 = n = r.y;
    }
    const g = projForward(ctx, tier, x2, i, 'gate', o);
    const u = projForward(ctx, tier, x2, i, 'up', o);
    n?.dispose();
    const h = swigluLauncher.launch(ctx, 'metal3', { gate: g.y, up: u.y }, {}, { y: { dtype: x.dtype, shape: g.y.shape } }).y;
    const d = projForward(ctx, tier, h, i, 'down', o);
    h.dispose();
    res.y = reshapeOwned(d.y, outs.y.shape);
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
