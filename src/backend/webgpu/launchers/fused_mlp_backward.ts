import type { LoraOpts } from '../../../ops/fused_lora_forward/reference.js';
import { gemmOptions } from '../../../ops/gemm/spec.js';
import { PROJS, projOpts, weightName, type Proj } from '../../../ops/fused_mlp/reference.js';
import type { Tensor } from '../../../tensor.js';
import { reshapeOwned, viewAs } from '../../view.js';
import type { LaunchContext, Launcher, WebGpuTier } from '../launch.js';
import { loraBackward } from './fused_lora.js';
import { projForward } from './fused_mlp.js';
import { gemmLauncher } from './gemm.js';
import { swigluBackwardLauncher, swigluLauncher } from './swiglu.js';

type MlpOpts = LoraOpts & { recompute: boolean; accumulate: boolean };

/**
 * One projection's backward for dy [T, out] and its input x [T, in]: fused_lora_backward's
 * launches with the adapter (dxIn added under its mask), else dx = dy·W (+ dxIn as the gemm's c).
 */
function projBackward(ctx: LaunchContext, tier: WebGpuTier, dy: Tensor, x: Tensor, i: Record<string, Tensor>, p: Proj, o: MlpOpts, dxIn?: Tensor): { dx: Tensor; dA?: Tensor; dB?: Tensor } {
  const w = i[weightName(p)];
  const a = i[`${p}A`];
  if (a) {
    const pick = Object.fromEntries(Object.entries({ dy, x, weight: w, loraA: a, loraB: i[`${p}B`], xa: viewAs(i[`${p}Xa`], [x.shape[0], a.shape[0]]), dAIn: i[`${p}DAIn`], dBIn: i[`${p}DBIn`] }).filter(([, v]) => v)) as Record<string, Tensor>;
    return loraBackward(ctx, tier, pick, projOpts(o, p), dxIn);
  }
  const given: Record<string, Tensor> = dxIn ? { a: dy, b: w, c: dxIn } : { a: dy, b: w };
  const y = { dtype: dy.dtype, shape: [dy.shape[0], w.shape[1]] };
  return { dx: gemmLauncher.launch(ctx, tier, given, gemmOptions.parse({ beta: dxIn ? 1 : 0, outDtype: dy.dtype }), { y }).y };
}

/**
 * g, u (the forward's launches again, or the saved ones), h = swiglu(g, u); the down
 * projection's backward gives dh (and its dA, dB); swiglu_backward gives dg, du; the gate
 * projection's backward, then the up one with the gate's dx added into its own.
 */
export const fusedMlpBackwardLauncher: Launcher = {
  tiers: (d, f) => gemmLauncher.tiers(d, f),
  launch(ctx, tier, i, opts, outs) {
    const o = opts as MlpOpts;
    const x = i.x;
    const k = x.shape[x.shape.length - 1];
    const t = x.size / k;
    const inter = i.wGate.shape[0];
    const x2 = viewAs(x, [t, k]);
    const owned: Tensor[] = [];
    const gu = (p: 'gate' | 'up'): Tensor => {
      if (!o.recompute) return viewAs(i[p], [t, inter]);
      const f = projForward(ctx, tier, x2, i, p, o);
      f.xa?.dispose();
      owned.push(f.y);
      return f.y;
    };
    const g = gu('gate');
    const u = gu('up');
    const info = { dtype: x.dtype, shape: [t, inter] };
    // Zero tokens reach here only with accumulate (dA = dAIn through the products over T = 0):
    // the elementwise steps have no elements and are not launched.
    const empty = t === 0;
    const h = empty ? ctx.output(info) : swigluLauncher.launch(ctx, 'portable', { gate: g, up: u }, {}, { y: info }).y;
    const dy2 = viewAs(i.dy, [t, i.wDown.shape[0]]);
    const d = projBackward(ctx, tier, dy2, h, i, 'down', o);
    h.dispose();
    const sw = empty ? { dgate: ctx.output(info), dup: ctx.output(info) } : swigluBackwardLauncher.launch(ctx, 'portable', { dy: d.dx, gate: g, up: u }, {}, { dgate: info, dup: info });
    d.dx.dispose();
    for (const tt of owned) tt.dispose();
    const gb = projBackward(ctx, tier, sw.dgate, x2, i, 'gate', o);
    sw.dgate.dispose();
    const ub = projBackward(ctx, tier, sw.dup, x2, i, 'up', o, gb.dx);
    sw.dup.dispose();
    gb.dx.dispose();
    const res: Record<string, Tensor> = { dx: reshapeOwned(ub.dx, outs.dx.shape) };
    const grads = { gate: gb, up: ub, down: d };
    for (const p of PROJS) {
      const gr = grads[p];
      if (gr.dA && gr.dB) {
        res[`${p}DA`] = gr.dA;
        res[`${p}DB`] = gr.dB;
      }
    }
    return res;
  },
};
