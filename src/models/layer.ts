import type { KernelBackend } from '../backend/interface.js';
import type { Tensor } from '../tensor.js';
import type { ModelConfig } from './config.js';
import type { Attend } from './attention.js';
import type { LayerWeights } from './weights.js';

/** Per-forward inputs every layer shares: rope positions (i32 [N]) and how attention is done. */
export interface LayerInputs {
  readonly positions: Tensor;
  readonly tokens: number;
  readonly attend: Attend;
}

const linear = (b: KernelBackend, x: Tensor, w: Tensor, bias?: Tensor, residual?: Tensor): Tensor =>
  b.gemm({ a: x, b: w, bias, c: residual }, { transB: true, ...(residual ? { beta: 1 } : {}) }).y;

/**
 * One decoder layer, HF's order: h + o(attn(rope(norm_qk(q, k)), v)) then h + down(silu(gate)·up)
 * on RMSNorm'd inputs. The residual adds ride on gemm's c (beta = 1), so no separate add op;
 * every intermediate is disposed as soon as the next op has been recorded with it. Returns the
 * new hidden state; `h` stays the caller's.
 */
export function decoderLayer(b: KernelBackend, c: ModelConfig, layer: number, w: LayerWeights, h: Tensor, io: LayerInputs): Tensor {
  const T = io.tokens;
  const D = c.headDim;
  const eps = { eps: c.rmsNormEps };

  const n1 = b.rmsNorm({ x: h, weight: w.inputNorm }, eps);
  n1.rstd.dispose();
  const heads = (proj: Tensor, bias: Tensor | undefined, n: number, norm: Tensor | undefined): Tensor => {
    let x = b.reshape(linear(b, n1.y, proj, bias), [T, n, D]);
    if (norm) {
      // Qwen3: RMSNorm over each head's D values, before rope.
      const r = b.rmsNorm({ x, weight: norm }, eps);
      r.rstd.dispose();
      x.dispose();
      x = r.y;
    }
    return x;
  };
  const q0 = heads(w.q, w.qBias, c.numHeads, w.qNorm);
  const k0 = heads(w.k, w.kBias, c.numKvHeads, w.kNorm);
  const v = heads(w.v, w.vBias, c.numKvHeads, undefined);
  n1.y.dispose();
  const q = b.rope({ x: q0, positions: io.positions }, c.rope.options).y;
  const k = b.rope({ x: k0, positions: io.positions }, c.rope.options).y;
  q0.dispose();
  k0.dispose();
  const attn = io.attend(q, k, v, layer, c.layerWindows[layer]);
  const o = b.reshape(attn, [T, c.numHeads * D]);
  const h1 = linear(b, o, w.o, w.oBias, h);
  o.dispose();

  const n2 = b.rmsNorm({ x: h1, weight: w.postNorm }, eps);
  n2.rstd.dispose();
  const gate = linear(b, n2.y, w.gate, w.gateBias);
  const up = linear(b, n2.y, w.up, w.upBias);
  n2.y.dispose();
  const act = b.swiglu({ gate, up }).y;
  gate.dispose();
  up.dispose();
  const h2 = linear(b, act, w.down, w.downBias, h1);
  act.dispose();
  h1.dispose();
  return h2;
}
