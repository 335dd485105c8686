import type { KernelBackend } from '../../backend/interface.js';
import type { Tensor } from '../../tensor.js';
import type { ModelConfig } from '../config.js';
import type { Linear } from '../linear.js';
import type { LayerWeights } from '../weights.js';
import { add, addAll } from './add.js';
import { loraOpOptions, type LayerGrads, type LoraTarget } from './adapters.js';
import { attentionOptions, dropoutSeed, type LayerSaved, type LoraContext, type TrainInputs } from './layer_forward.js';
import { linearBackward, loraWeight } from './linear.js';

/**
 * dx of y = x·Wᵀ (+ LoRA): fused_lora_backward for an adapted target (its dA/dB go to `g`,
 * added to what `g` already holds — gradient accumulation), else a plain dy·W. `dy` and
 * `x` are [T, out] / [T, in]; neither is consumed.
 */
function projectBack(b: KernelBackend, dy: Tensor, x: Tensor, l: Linear, xa: Tensor | undefined, lc: LoraContext, t: LoraTarget, g: LayerGrads, io: TrainInputs): Tensor {
  const p = lc.adapters[t];
  if (!p) return linearBackward(b, dy, l, io.dtype);
  const prev = g[t];
  const q = loraWeight(l);
  const r = b.fusedLoraBackward(
    { dy, x, ...q.inputs, loraA: p.A, loraB: p.B, xa: xa!, ...(prev ? { dAIn: prev.dA, dBIn: prev.dB } : {}) },
    { ...loraOpOptions(lc.settings, dropoutSeed(lc.seed, lc.layer, t)), ...q.options, accumulate: prev !== undefined },
  );
  if (prev) (prev.dA.dispose(), prev.dB.dispose());
  g[t] = { dA: r.dA, dB: r.dB };
  return r.dx;
}

/**
 * The backward of trainLayerForward: from dOut (the gradient of the layer's output, not
 * consumed) to the gradient of its input, collecting the adapters' gradients into `g`.
 * Reverse order of the forward; each residual connection adds its two gradients (add.ts),
 * and a fan-out (n1 → q, k, v; n2 → gate, up) sums its branches. `ones` is an f32/compute-dtype
 * [hidden] tensor for add.ts.
 */
export function trainLayerBackward(b: KernelBackend, c: ModelConfig, w: LayerWeights, window: number | null, s: LayerSaved, dOut: Tensor, io: TrainInputs, lc: LoraContext, g: LayerGrads, ones: Tensor): Tensor {
  const T = io.tokens;
  const D = c.headDim;
  const eps = { eps: c.rmsNormEps };

  // MLP: out = h1 + down(silu(gate(n2))·up(n2)), n2 = norm(h1).
  const dAct = projectBack(b, dOut, s.act, w.down, s.xa.down, lc, 'down', g, io);
  const sw = b.swigluBackward({ dy: dAct, gate: s.gate, up: s.up });
  dAct.dispose();
  const dn2 = addAll(b, [projectBack(b, sw.dgate, s.n2, w.gate, s.xa.gate, lc, 'gate', g, io), projectBack(b, sw.dup, s.n2, w.up, s.xa.up, lc, 'up', g, io)], ones);
  sw.dgate.dispose();
  sw.dup.dispose();
  const r2 = b.rmsNormBackward({ dy: dn2, x: s.h1, weight: w.postNorm, rstd: s.rstd2 }, eps);
  dn2.dispose();
  r2.dw.dispose();
  const dh1 = add(b, dOut, r2.dx, ones);
  r2.dx.dispose();

  // Attention: h1 = h + o_proj(attn(rope(qn(q(n1))), rope(kn(k(n1))), v(n1))), n1 = norm(h).
  const dO = b.reshape(projectBack(b, dh1, s.o, w.o, s.xa.o, lc, 'o', g, io), [T, c.numHeads, D]);
  const o = b.reshape(s.o, [T, c.numHeads, D]);
  const fb = b.flashAttentionBackward({ q: s.q, k: s.k, v: s.v, o, dO, lse: s.lse, cuSeqlensQ: io.cu, cuSeqlensK: io.cu }, attentionOptions(window));
  o.dispose();
  dO.dispose();
  // The gradients of q and k rotated back by one call (one dispatch).
  const rb = b.ropeBackward({ dy: fb.dq, dk: fb.dk, positions: io.positions }, c.rope.options);
  fb.dq.dispose();
  fb.dk.dispose();
  const headBack = (t: 'q' | 'k' | 'v', d: Tensor, n: number, norm?: { weight: Tensor; x: Tensor; rstd: Tensor }): Tensor => {
    let dx = d;
    if (norm) {
      const r = b.rmsNormBackward({ dy: dx, x: norm.x, weight: norm.weight, rstd: norm.rstd }, eps);
      dx.dispose();
      r.dw.dispose();
      dx = r.dx;
    }
    const flat = b.reshape(dx, [T, n * D]);
    const dn = projectBack(b, flat, s.n1, w[t], s.xa[t], lc, t, g, io);
    flat.dispose();
    return dn;
  };
  const dq = headBack('q', rb.dx, c.numHeads, w.qNorm ? { weight: w.qNorm, x: s.qPre!, rstd: s.qRstd! } : undefined);
  const dk = headBack('k', rb.dxk!, c.numKvHeads, w.kNorm ? { weight: w.kNorm, x: s.kPre!, rstd: s.kRstd! } : undefined);
  const dv = headBack('v', fb.dv, c.numKvHeads);
  const dn1 = addAll(b, [dq, dk, dv], ones);
  const r1 = b.rmsNormBackward({ dy: dn1, x: s.h, weight: w.inputNorm, rstd: s.rstd1 }, eps);
  dn1.dispose();
  r1.dw.dispose();
  const dh = add(b, dh1, r1.dx, ones);
  dh1.dispose();
  r1.dx.dispose();
  return dh;
}
