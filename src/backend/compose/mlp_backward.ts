import type { LoraOpts } from '../../ops/fused_lora_forward/reference.js';
import { PROJS, projOpts, weightName, type Proj } from '../../ops/fused_mlp/reference.js';
import type { TensorInfo } from '../../ops/types.js';
import type { Tensor } from '../../tensor.js';
import { reshapeOwned, viewAs } from '../view.js';

export type MlpBackwardOpts = LoraOpts & { recompute: boolean; accumulate: boolean };
type ProjGrads = { dx: Tensor; dA?: Tensor; dB?: Tensor };

/** What a backend lends the composition: its own launches of the steps. */
export interface MlpBackwardSteps {
  /** The forward's projection p of x [T, K] (the forward's own launches), with its saved x·Aᵀ. */
  projForward(x: Tensor, p: 'gate' | 'up'): { y: Tensor; xa?: Tensor };
  /** fused_lora_backward's launches for an adapter (dxIn added under its mask). */
  loraBackward(inputs: Record<string, Tensor>, o: LoraOpts, dxIn?: Tensor): ProjGrads;
  /** dx = dy·W (+ c with beta 1), in dy's dtype. */
  gemm(dy: Tensor, w: Tensor, c: Tensor | undefined, y: TensorInfo): Tensor;
  swiglu(g: Tensor, u: Tensor, y: TensorInfo): Tensor;
  swigluBackward(dy: Tensor, g: Tensor, u: Tensor, info: TensorInfo): { dgate: Tensor; dup: Tensor };
  output(info: TensorInfo): Tensor;
}

/**
 * fused_mlp_backward as the separate ops' launches, on any backend that lends the steps: g, u
 * (the forward's launches again, or the saved ones), h = swiglu(g, u); the down projection's
 * backward gives dh (and its dA, dB); swiglu_backward gives dg, du; the gate projection's
 * backward, then the up one with the gate's dx added into its own.
 */
export function mlpBackward(s: MlpBackwardSteps, i: Record<string, Tensor>, o: MlpBackwardOpts, dxShape: readonly number[]): Record<string, Tensor> {
  const x = i.x;
  const k = x.shape[x.shape.length - 1];
  const t = x.size / k;
  const inter = i.wGate.shape[0];
  const x2 = viewAs(x, [t, k]);
  // One projection's backward for dy [T, out] and its input [T, in]: the LoRA launches with an
  // adapter, else dx = dy·W (+ dxIn as the gemm's c).
  const projBackward = (dy: Tensor, xin: Tensor, p: Proj, dxIn?: Tensor): ProjGrads => {
    const w = i[weightName(p)];
    const a = i[`${p}A`];
    if (a) {
      const pick = Object.fromEntries(Object.entries({ dy, x: xin, weight: w, loraA: a, loraB: i[`${p}B`], xa: viewAs(i[`${p}Xa`], [xin.shape[0], a.shape[0]]), dAIn: i[`${p}DAIn`], dBIn: i[`${p}DBIn`] }).filter(([, v]) => v)) as Record<string, Tensor>;
      return s.loraBackward(pick, projOpts(o, p), dxIn);
    }
    return { dx: s.gemm(dy, w, dxIn, { dtype: dy.dtype, shape: [dy.shape[0], w.shape[1]] }) };
  };
  const owned: Tensor[] = [];
  const gu = (p: 'gate' | 'up'): Tensor => {
    if (!o.recompute) return viewAs(i[p], [t, inter]);
    const f = s.projForward(x2, p);
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
  const h = empty ? s.output(info) : s.swiglu(g, u, info);
  const d = projBackward(viewAs(i.dy, [t, i.wDown.shape[0]]), h, 'down');
  h.dispose();
  const sw = empty ? { dgate: s.output(info), dup: s.output(info) } : s.swigluBackward(d.dx, g, u, info);
  d.dx.dispose();
  for (const tt of owned) tt.dispose();
  const gb = projBackward(sw.dgate, x2, 'gate');
  sw.dgate.dispose();
  const ub = projBackward(sw.dup, x2, 'up', gb.dx);
  sw.dup.dispose();
  gb.dx.dispose();
  const res: Record<string, Tensor> = { dx: reshapeOwned(ub.dx, dxShape) };
  const grads = { gate: gb, up: ub, down: d };
  for (const p of PROJS) {
    const gr = grads[p];
    if (gr.dA && gr.dB) {
      res[`${p}DA`] = gr.dA;
      res[`${p}DB`] = gr.dB;
    }
  }
  return res;
}
