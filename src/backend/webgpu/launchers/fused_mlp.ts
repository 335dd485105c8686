import type { LoraOpts } from '../../../ops/fused_lora_forward/reference.js';
import { gemmOptions } from '../../../ops/gemm/spec.js';
import { BYTES } from '../../../dtype.js';
import { projOpts, weightName, type Proj } from '../../../ops/fused_mlp/reference.js';
import type { Tensor } from '../../../tensor.js';
import { reshapeOwned, viewAs } from '../../view.js';
import type { LaunchContext, Launcher, WebGpuTier } from '../launch.js';
import { fusedLoraForwardLauncher, loraSide } from './fused_lora.js';
import { gemmLauncher } from './gemm.js';
import { swigluLauncher } from './swiglu.js';
import { swigluGemm, swigluGemmFits } from './swiglu_gemm.js';
import { sgmatGu, sgmatGuFits } from './gu_gemm.js';
import { mlpGemv, mlpGemvFits, mlpGemvNormFits, type GemvNorm } from './mlp_gemv.js';
import { mlpNormVariant, normFirst, normInGemv } from './mlp_norm.js';

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
 * g and u in one pass over x: the SWIGLU variant of gemm_tiled (swiglu_gemm.ts) stages x's
 * tile once for both weights and writes h = silu(g)·u, g and u never stored; each adapter's
 * LoRA term s·xa·Bᵀ enters as that product's c (loraSide, as fused_lora_forward). Two B
 * operands rather than one concatenated [2I, K] weight: W_g and W_u are separate frozen
 * tensors, and concatenating them would copy 2·I·K elements every call (or hold a second
 * copy of both). Then the down projection of h.
 * With recompute = false the forward must return g and u anyway: they are written by two
 * projections and swiglu's kernel reads them (the plan below); likewise where an operand
 * exceeds one binding (swigluGemmFits). On the 'subgroup-matrix' tier the one-pass kernel is
 * not used either: it is SIMT (gemm_tiled's tiles), where two matrix-unit projections plus the
 * swiglu kernel are the faster path — on the H100 (run S6, T=4096, K=4096, I=14336, r=16) the
 * one-pass forward took 53.9 ms, and one sgmat gemm of that size takes about 2.2 ms (run G1).
 * Decode sizes (T ≤ 16) without LoRA on gate/up take neither, on every tier: one
 * gemm_gemv_rows SWIGLU_ROWS dispatch reads W_g and W_u once and writes h (and g, u when
 * recompute = false; mlp_gemv.ts), then the down projection is gemm's GEMV — 2 dispatches
 * where the projections + swiglu plan takes 4 (a decode step is host-bound on dispatches).
 * PMETAL_MLP_GEMV=0 turns it off. Larger T without LoRA on gate/up with recompute on the
 * 'subgroup-matrix' tier (the model's prefill) takes gemm_sgmat_vec's gate/up pair (GU,
 * gu_gemm.ts): one dispatch writing h only, where the kernels below write g and u and read
 * them back. Otherwise larger T without LoRA on gate/up takes two projections and swiglu, exactly the
 * kernels the separate gemm, gemm, swiglu ops record: the one-pass kernel, which reads its
 * operands element by element where gemm_tiled reads 16-byte words, has no timing without
 * adapters to justify replacing them; with adapters it also takes their LoRA terms as c.
 * With normWeight (the norm before the MLP, n = rms_norm(x (+ residual))·γ): on the GEMV
 * route at small T (PMETAL_MLP_NORM_VARIANT, mlp_norm.ts) the gate/up dispatch computes n
 * itself (gemm_gemv_norm.wgsl) and writes the sum and rstd — still 2 dispatches; elsewhere one
 * rms_norm dispatch forms n, the sum and rstd, and n takes x's place in the plans above.
 */
export const fusedMlpLauncher: Launcher = {
  tiers: (d, f) => gemmLauncher.tiers(d, f),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as LoraOpts & { recompute: boolean; eps: number };
    const k = i.x.shape[i.x.shape.length - 1];
    const t = i.x.size / k;
    const inter = i.wGate.shape[0];
    const res: Record<string, Tensor> = {};
    const normOuts = (sum: Tensor | undefined, rstd: Tensor) => {
      if (sum) res.residualOut = reshapeOwned(sum, outs.residualOut.shape);
      res.rstd = reshapeOwned(rstd, outs.rstd.shape);
    };
    // x2: the MLP's input [T, K] — x, or n when the norm runs as its own dispatch (owned).
    let x2 = viewAs(i.x, [t, k]);
    let owned: Tensor | undefined;
    const gemvRoute = (v: Tensor) => !i.gateA && !i.upA && mlpGemvFits(ctx, v, i.wGate, i.wUp);
    let norm: GemvNorm | undefined = i.normWeight ? { gamma: i.normWeight, residual: i.residual && viewAs(i.residual, [t, k]), eps: o.eps } : undefined;
    if (norm && !(gemvRoute(x2) && normInGemv(mlpNormVariant(), t) && mlpGemvNormFits(ctx, x2, norm, !o.recompute))) {
      const r = normFirst(ctx, tier, x2, norm.gamma, norm.residual, norm.eps);
      normOuts(r.sum, r.rstd);
      x2 = owned = r.n;
      norm = undefined;
    }
    let h: Tensor;
    if (gemvRoute(x2)) {
      const r = mlpGemv(ctx, tier, x2, i.wGate, i.wUp, !o.recompute, norm);
      h = r.h;
      if (r.g && r.u) {
        res.gate = reshapeOwned(r.g, outs.gate.shape);
        res.up = reshapeOwned(r.u, outs.up.shape);
      }
      if (r.rstd) normOuts(r.sum, r.rstd);
    } else if (o.recompute && tier !== 'subgroup-matrix' && (i.gateA || i.upA) && swigluGemmFits(ctx, t, inter, k, BYTES[i.x.dtype])) {
      const side = (p: 'gate' | 'up') => (i[`${p}A`] ? loraSide(ctx, tier, x2, i[`${p}A`], i[`${p}B`], projOpts(o, p)) : undefined);
      const sg = side('gate');
      const su = side('up');
      h = swigluGemm(ctx, x2, i.wGate, i.wUp, sg?.tt, su?.tt);
      for (const [p, sd] of [['gate', sg], ['up', su]] as const) {
        if (!sd) continue;
        sd.tt.dispose();
        res[`${p}Xa`] = reshapeOwned(sd.xa, outs[`${p}Xa`].shape);
      }
    } else if (o.recompute && tier === 'subgroup-matrix' && !i.gateA && !i.upA && sgmatGuFits(ctx, x2, i.wGate, i.wUp)) {
      h = sgmatGu(ctx, x2, i.wGate, i.wUp);
    } else {
      const g = projForward(ctx, tier, x2, i, 'gate', o);
      const u = projForward(ctx, tier, x2, i, 'up', o);
      h = swigluLauncher.launch(ctx, 'portable', { gate: g.y, up: u.y }, {}, { y: { dtype: i.x.dtype, shape: [t, inter] } }).y;
      for (const [p, pr] of [['gate', g], ['up', u]] as const) if (pr.xa) res[`${p}Xa`] = reshapeOwned(pr.xa, outs[`${p}Xa`].shape);
      if (o.recompute) {
        g.y.dispose();
        u.y.dispose();
      } else {
        res.gate = reshapeOwned(g.y, outs.gate.shape);
        res.up = reshapeOwned(u.y, outs.up.shape);
      }
    }
    owned?.dispose();
    const d = projForward(ctx, tier, h, i, 'down', o);
    h.dispose();
    res.y = reshapeOwned(d.y, outs.y.shape);
    if (d.xa) res.downXa = reshapeOwned(d.xa, outs.downXa.shape);
    return res;
  },
};
