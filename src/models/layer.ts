import type { KernelBackend } from '../backend/interface.js';
import type { FloatDType } from '../dtype.js';
import { envFlag } from '../env_flag.js';
import type { Tensor } from '../tensor.js';
import type { Attend } from './attention.js';
import type { ModelConfig } from './config.js';
import { applyLinear } from './linear.js';
import type { LayerWeights } from './weights.js';

/** Per-forward inputs every layer shares: rope positions (i32 [N]) and how attention is done. */
export interface LayerInputs {
  readonly positions: Tensor;
  readonly tokens: number;
  readonly attend: Attend;
  readonly dtype: FloatDType;
}

/**
 * The residual stream between layers as (h, delta): the hidden state is h + delta, added by
 * the next RMSNorm (rms_norm's fused residual input returns the sum as the new h). Layer 0
 * starts with the embedding as delta and no h. So no linear layer needs a residual input —
 * which quantized_gemm does not have — and each add costs no pass of its own.
 */
export interface Stream {
  readonly h?: Tensor;
  readonly delta: Tensor;
}

/** RMSNorm of h + delta; returns the normalised rows and the sum (the new h). Consumes the stream. */
export function addNorm(b: KernelBackend, s: Stream, weight: Tensor, eps: number): { y: Tensor; h: Tensor } {
  if (!s.h) {
    const r = b.rmsNorm({ x: s.delta, weight }, { eps });
    r.rstd.dispose();
    return { y: r.y, h: s.delta };
  }
  const r = b.rmsNorm({ x: s.delta, residual: s.h, weight }, { eps });
  r.rstd.dispose();
  s.h.dispose();
  s.delta.dispose();
  return { y: r.y, h: r.residual! };
}

/**
 * One decoder layer, HF's order: h + o(attn(rope(norm_qk(q, k)), v)), then
 * h + down(silu(gate)·up), each on RMSNorm'd inputs. Every intermediate is disposed as soon as
 * the op that reads it has been recorded. Consumes `s`, returns the next stream.
 */
export function decoderLayer(b: KernelBackend, c: ModelConfig, layer: number, w: LayerWeights, s: Stream, io: LayerInputs): Stream {
  const T = io.tokens;
  const D = c.headDim;
  const lin = (x: Tensor, l: LayerWeights['q']) => applyLinear(b, x, l, io.dtype);

  const { q, k, v, h: h1, written } = attentionInput(b, c, layer, w, s, io);
  const attn = io.attend(q, k, v, layer, c.layerWindows[layer], written);
  const o = b.reshape(attn, [T, c.numHeads * D]);
  const attnOut = lin(o, w.o);
  o.dispose();

  const mlp = denseMlp(w);
  if (mlp && mlpTakesNorm()) {
    // fused_mlp takes the post-attention RMSNorm and its residual add too (normWeight,
    // residual; the sum comes back as residualOut, the new h): at decode sizes on webgpu the
    // gate/up dispatch computes the norm itself, so the MLP block is 2 dispatches (the norm,
    // gate/up with the SwiGLU epilogue, down were 3); at prefill sizes the launcher records
    // the rms_norm and what the separate ops would (gate and up gemms, swiglu, the down gemm).
    const r = b.fusedMlp({ x: attnOut, residual: h1, normWeight: w.postNorm, wGate: mlp.gate, wUp: mlp.up, wDown: mlp.down }, { eps: c.rmsNormEps });
    r.rstd?.dispose();
    attnOut.dispose();
    h1.dispose();
    return { h: r.residualOut!, delta: r.y };
  }
  const n2 = addNorm(b, { h: h1, delta: attnOut }, w.postNorm, c.rmsNormEps);
  if (mlp) {
    // PMETAL_MLP_NORM=0: the norm as its own call, then fused_mlp on its output.
    const mlpOut = b.fusedMlp({ x: n2.y, wGate: mlp.gate, wUp: mlp.up, wDown: mlp.down }).y;
    n2.y.dispose();
    return { h: n2.h, delta: mlpOut };
  }
  // Quantized (or biased) linears: quantized_gemm has no fused MLP; the separate ops.
  const gate = lin(n2.y, w.gate);
  const up = lin(n2.y, w.up);
  n2.y.dispose();
  const act = b.swiglu({ gate, up }).y;
  gate.dispose();
  up.dispose();
  const mlpOut = lin(act, w.down);
  act.dispose();
  return { h: n2.h, delta: mlpOut };
}

/**
 * PMETAL_MLP_NORM (read at each layer's recording): 1 or unset, a dense MLP takes the
 * post-attention norm into fused_mlp; 0, the norm stays its own rms_norm call (to time both).
 */
export function mlpTakesNorm(v = typeof process !== 'undefined' ? process.env.PMETAL_MLP_NORM : undefined): boolean {
  return envFlag('model', 'PMETAL_MLP_NORM', true, v);
}

/**
 * The attention input: q and k rotated ([T, H, D] and [T, Hkv, D]), v, and the new residual
 * h. With dense q/k/v linears (biases allowed) and no q/k norm, one fused_norm_qkv call (the
 * norm with its residual add, the three projections and rope: on webgpu one dispatch at
 * decode sizes, the separate ops' kernels past them); PMETAL_NORM_QKV=0 keeps the separate
 * ops. Qwen3's per-head q/k RMSNorm sits between the projections and rope, so it keeps them
 * too. Consumes the stream.
 */
function attentionInput(b: KernelBackend, c: ModelConfig, layer: number, w: LayerWeights, s: Stream, io: LayerInputs): { q: Tensor; k: Tensor; v: Tensor; h: Tensor; written?: boolean } {
  const T = io.tokens;
  const D = c.headDim;
  const dense = denseQkv(w);
  if (dense && normQkvEnabled()) {
    // A cached step: the op writes k and v into the layer's cache too (attention.ts).
    const cw = io.attend.cacheWrite?.(layer);
    const r = b.fusedNormQkv(
      { x: s.delta, residual: s.h, gamma: w.inputNorm, ...dense, positions: io.positions, ...cw?.inputs },
      { eps: c.rmsNormEps, heads: { q: c.numHeads, kv: c.numKvHeads }, rope: c.rope.options, ...cw?.options },
    );
    let h = s.delta;
    if (s.h) {
      s.h.dispose();
      s.delta.dispose();
      h = r.residualOut!;
    }
    return { q: b.reshape(r.q, [T, c.numHeads, D]), k: b.reshape(r.k, [T, c.numKvHeads, D]), v: b.reshape(r.v, [T, c.numKvHeads, D]), h, written: !!cw };
  }
  const lin = (x: Tensor, l: LayerWeights['q']) => applyLinear(b, x, l, io.dtype);
  const n1 = addNorm(b, s, w.inputNorm, c.rmsNormEps);
  const heads = (proj: LayerWeights['q'], n: number, norm: Tensor | undefined): Tensor => {
    let x = b.reshape(lin(n1.y, proj), [T, n, D]);
    if (norm) {
      // Qwen3: RMSNorm over each head's D values, before rope.
      const r = b.rmsNorm({ x, weight: norm }, { eps: c.rmsNormEps });
      r.rstd.dispose();
      x.dispose();
      x = r.y;
    }
    return x;
  };
  const q0 = heads(w.q, c.numHeads, w.qNorm);
  const k0 = heads(w.k, c.numKvHeads, w.kNorm);
  const v = heads(w.v, c.numKvHeads, undefined);
  n1.y.dispose();
  // q and k rotated by one call (one dispatch: decode is launch-bound).
  const qk = b.rope({ x: q0, k: k0, positions: io.positions }, c.rope.options);
  q0.dispose();
  k0.dispose();
  return { q: qk.y, k: qk.yk!, v, h: n1.h };
}

/** PMETAL_NORM_QKV=0: the model records the separate norm, projection and rope ops (to time both plans). */
export function normQkvEnabled(): boolean {
  return typeof process === 'undefined' || process.env.PMETAL_NORM_QKV !== '0';
}

/** fused_norm_qkv's weight inputs when q, k and v are dense linears (biases allowed) and the model has no q/k norm, else undefined. */
function denseQkv(w: LayerWeights): { wq: Tensor; wk: Tensor; wv: Tensor; bq?: Tensor; bk?: Tensor; bv?: Tensor } | undefined {
  const { q, k, v } = w;
  if (w.qNorm || w.kNorm || q.kind !== 'dense' || k.kind !== 'dense' || v.kind !== 'dense') return undefined;
  return { wq: q.w, wk: k.w, wv: v.w, ...(q.bias ? { bq: q.bias } : {}), ...(k.bias ? { bk: k.bias } : {}), ...(v.bias ? { bv: v.bias } : {}) };
}

/** The three MLP weights when every one is a dense linear without bias (fused_mlp's inputs), else undefined. */
function denseMlp(w: LayerWeights): { gate: Tensor; up: Tensor; down: Tensor } | undefined {
  const ls = [w.gate, w.up, w.down];
  if (!ls.every((l) => l.kind === 'dense' && !l.bias)) return undefined;
  return { gate: w.gate.w, up: w.up.w, down: w.down.w };
}
