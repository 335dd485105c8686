import type { LoraOpts } from '../../../ops/fused_lora_forward/reference.js';
import { PROJS, projOpts, weightName, type Proj } from '../../../ops/fused_mlp/reference.js';
import type { Tensor } from '../../../tensor.js';
import { reshapeOwned, viewAs } from '../../view.js';
import type { MetalContext, MetalLauncher, MetalTier } from '../launch.js';
import { fusedLoraForwardLauncher } from './fused_lora.js';
import { gemmLauncher } from './gemm.js';
import { gemmOn } from './gemm_call.js';
import { mlpGemv, mlpGemvFits } from './mlp_gemv.js';
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
 * the down projection of h: webgpu's composed plan. With normWeight, rms_norm's launch first
 * (its residual input gives the sum, residualOut) and n takes x's place. At decode sizes
 * (T ≤ 16 without gate/up LoRA, wherever the separate gate/up products would be GEMVs:
 * mlpGemvFits) one gemv_swiglu.metal dispatch does the norm, g, u and h — rounding where
 * rms_norm, the two gemms and swiglu do, so the op's one bound holds for either plan — and
 * the down projection follows: 2 dispatches (the down adapter's, if any, as before).
 */
export const fusedMlpLauncher: MetalLauncher = {
  tiers: (d, chip) => gemmLauncher.tiers(d, chip),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as LoraOpts & { recompute: boolean; eps: number };
    const x = i.x;
    const k = x.shape[x.shape.length - 1];
    const t = x.size / k;
    const x2 = viewAs(x, [t, k]);
    const res: Record<string, Tensor> = {};
    const gu = mlpGemvFits(tier, t, i) ? fusedGateUp(ctx, x2, i, o) : separateGateUp(ctx, tier, x2, i, o);
    if (gu.sum) res.residualOut = reshapeOwned(gu.sum, outs.residualOut.shape);
    if (gu.rstd) res.rstd = reshapeOwned(gu.rstd, outs.rstd.shape);
    const d = projForward(ctx, tier, gu.h, i, 'down', o);
    gu.h.dispose();
    res.y = reshapeOwned(d.y, outs.y.shape);
    const xa: Record<Proj, Tensor | undefined> = { gate: gu.gateXa, up: gu.upXa, down: d.xa };
    for (const p of PROJS) if (xa[p]) res[`${p}Xa`] = reshapeOwned(xa[p]!, outs[`${p}Xa`].shape);
    if (o.recompute) {
      gu.g?.dispose();
      gu.u?.dispose();
    } else {
      res.gate = reshapeOwned(gu.g!, outs.gate.shape);
      res.up = reshapeOwned(gu.u!, outs.up.shape);
    }
    return res;
  },
};

/** What the gate/up half of the MLP leaves: h, and g, u, the norm's sum and rstd, the adapters' xa where they exist. */
interface GateUp {
  h: Tensor;
  g?: Tensor;
  u?: Tensor;
  sum?: Tensor;
  rstd?: Tensor;
  gateXa?: Tensor;
  upXa?: Tensor;
}

/** One gemv_swiglu.metal dispatch (the norm prologue inside it); g and u only with recompute = false. */
function fusedGateUp(ctx: MetalContext, x: Tensor, i: Record<string, Tensor>, o: { recompute: boolean; eps: number }): GateUp {
  const norm = i.normWeight ? { gamma: i.normWeight, residual: i.residual ? viewAs(i.residual, x.shape) : undefined, eps: o.eps } : undefined;
  return mlpGemv(ctx, x, i.wGate, i.wUp, !o.recompute, norm);
}

/** rms_norm's launch (with normWeight), the two projections, then swiglu's. */
function separateGateUp(ctx: MetalContext, tier: MetalTier, x: Tensor, i: Record<string, Tensor>, o: LoraOpts & { eps: number }): GateUp {
  const [t, k] = x.shape;
  let a = x;
  let n: Tensor | undefined;
  let sum: Tensor | undefined;
  let rstd: Tensor | undefined;
  if (i.normWeight) {
    const info = { dtype: x.dtype, shape: [t, k] };
    const r = rmsNormLauncher.launch(ctx, 'metal3', { x, weight: i.normWeight, ...(i.residual ? { residual: viewAs(i.residual, [t, k]) } : {}) }, { eps: o.eps }, { y: info, rstd: { dtype: 'f32', shape: [t] }, ...(i.residual ? { residual: info } : {}) });
    sum = r.residual;
    rstd = r.rstd;
    a = n = r.y;
  }
  const g = projForward(ctx, tier, a, i, 'gate', o);
  const u = projForward(ctx, tier, a, i, 'up', o);
  n?.dispose();
  const h = swigluLauncher.launch(ctx, 'metal3', { gate: g.y, up: u.y }, {}, { y: { dtype: x.dtype, shape: g.y.shape } }).y;
  return { h, g: g.y, u: u.y, sum, rstd, gateXa: g.xa, upXa: u.xa };
}
