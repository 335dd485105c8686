import type { KernelBackend } from '../../backend/interface.js';
import type { Tensor } from '../../tensor.js';
import type { FloatDType } from '../../dtype.js';
import type { ModelConfig } from '../config.js';
import { applyLinear, type Linear } from '../linear.js';
import type { LayerWeights } from '../weights.js';
import { add } from './add.js';
import { LORA_TARGETS, loraOpOptions, type LayerAdapters, type LoraSettings, type LoraTarget } from './adapters.js';
import { addRowBias, loraWeight } from './linear.js';

/** What every layer of a training pass shares: rope positions, the packed sequences' bounds (i32 [n+1]), T, the compute dtype. */
export interface TrainInputs {
  readonly positions: Tensor;
  readonly cu: Tensor;
  readonly tokens: number;
  readonly dtype: FloatDType;
}

/** The output of one projection and, when it is adapted, the xa = drop(x)·Aᵀ its backward needs. */
export interface Projected {
  readonly y: Tensor;
  readonly xa?: Tensor;
}

/** What one layer's backward needs from its forward (all owned by the layer's record). */
export interface LayerSaved {
  /** The layer input (rms_norm_backward's x for the input norm). */
  readonly h: Tensor;
  readonly n1: Tensor;
  readonly rstd1: Tensor;
  /** Qwen3's q/k norms: their inputs [T, H, D] and rstd. */
  readonly qPre?: Tensor;
  readonly qRstd?: Tensor;
  readonly kPre?: Tensor;
  readonly kRstd?: Tensor;
  /** Attention's q, k (after rope), v, o and lse, for flash_attention_backward. */
  readonly q: Tensor;
  readonly k: Tensor;
  readonly v: Tensor;
  readonly o: Tensor;
  readonly lse: Tensor;
  /** After the attention residual (post-norm's input). */
  readonly h1: Tensor;
  readonly n2: Tensor;
  readonly rstd2: Tensor;
  readonly gate: Tensor;
  readonly up: Tensor;
  readonly act: Tensor;
  readonly xa: Partial<Record<LoraTarget, Tensor>>;
}

export function disposeSaved(s: LayerSaved): void {
  const { xa, ...rest } = s;
  for (const t of Object.values(rest)) (t as Tensor | undefined)?.dispose();
  for (const t of Object.values(xa)) t?.dispose();
}

/** Per-step dropout seeds: one per (layer, target), so no two projections share a mask. */
export const dropoutSeed = (stepSeed: number, layer: number, target: LoraTarget): number =>
  (Math.imul(stepSeed ^ 0x9e3779b9, 31) + layer * LORA_TARGETS.length + LORA_TARGETS.indexOf(target)) >>> 0;

export interface LoraContext {
  readonly settings: LoraSettings;
  readonly adapters: LayerAdapters;
  readonly layer: number;
  readonly seed: number;
}

/**
 * x·Wᵀ (+ bias) of a Linear (dense or packed), through fused_lora_forward when the target is
 * adapted — with a packed W that is QLoRA: the op takes the quantized W as it is stored.
 */
export function project(b: KernelBackend, x: Tensor, l: Linear, lc: LoraContext, t: LoraTarget, dtype: FloatDType): Projected {
  const p = lc.adapters[t];
  if (!p) return { y: applyLinear(b, x, l, dtype) };
  const q = loraWeight(l);
  // A dense Linear's bias is [N], what the op takes; a packed one's is [1, N] (addRowBias).
  const bias = l.kind === 'dense' ? l.bias : undefined;
  const r = b.fusedLoraForward({ x, ...q.inputs, loraA: p.A, loraB: p.B, bias }, { ...loraOpOptions(lc.settings, dropoutSeed(lc.seed, lc.layer, t)), ...q.options });
  return { y: l.kind !== 'dense' && l.bias ? addRowBias(b, r.y, l.bias, dtype) : r.y, xa: r.xa };
}

/**
 * decoderLayer (../layer.ts) with the adapters applied and every activation its backward
 * needs kept: the same ops in the same order. The residual adds are made here as their own
 * rms_norm residual pass (add.ts) rather than riding on the next norm as addNorm does, since
 * the backward needs the sum h1 and the layer output as tensors of their own; the sum is the
 * same one rounding either way. The layer's record takes ownership of `h`.
 */
export function trainLayerForward(b: KernelBackend, c: ModelConfig, w: LayerWeights, window: number | null, h: Tensor, io: TrainInputs, lc: LoraContext): { out: Tensor; saved: LayerSaved } {
  const T = io.tokens;
  const D = c.headDim;
  const eps = { eps: c.rmsNormEps };
  const xa: Partial<Record<LoraTarget, Tensor>> = {};
  const keep = (t: LoraTarget, p: Projected): Tensor => {
    if (p.xa) xa[t] = p.xa;
    return p.y;
  };

  const n1 = b.rmsNorm({ x: h, weight: w.inputNorm }, eps);
  const heads = (t: 'q' | 'k' | 'v', n: number, norm: Tensor | undefined) => {
    const x = b.reshape(keep(t, project(b, n1.y, w[t], lc, t, io.dtype)), [T, n, D]);
    if (!norm) return { x };
    const r = b.rmsNorm({ x, weight: norm }, eps);
    return { x: r.y, pre: x, rstd: r.rstd };
  };
  const q0 = heads('q', c.numHeads, w.qNorm);
  const k0 = heads('k', c.numKvHeads, w.kNorm);
  const v = heads('v', c.numKvHeads, undefined).x;
  // q and k rotated by one call (one dispatch).
  const qk = b.rope({ x: q0.x, k: k0.x, positions: io.positions }, c.rope.options);
  const q = qk.y;
  const k = qk.yk!;
  q0.x.dispose();
  k0.x.dispose();
  const attn = b.flashAttentionForward({ q, k, v, cuSeqlensQ: io.cu, cuSeqlensK: io.cu }, attentionOptions(window));
  const o = b.reshape(attn.o, [T, c.numHeads * D]);
  const po = project(b, o, w.o, lc, 'o', io.dtype);
  if (po.xa) xa.o = po.xa;
  const h1 = residual(b, po.y, h, w.inputNorm);

  const n2 = b.rmsNorm({ x: h1, weight: w.postNorm }, eps);
  const gate = keep('gate', project(b, n2.y, w.gate, lc, 'gate', io.dtype));
  const up = keep('up', project(b, n2.y, w.up, lc, 'up', io.dtype));
  const act = b.swiglu({ gate, up }).y;
  const d = project(b, act, w.down, lc, 'down', io.dtype);
  if (d.xa) xa.down = d.xa;
  const out = residual(b, d.y, h1, w.postNorm);
  return {
    out,
    saved: { h, n1: n1.y, rstd1: n1.rstd, qPre: q0.pre, qRstd: q0.rstd, kPre: k0.pre, kRstd: k0.rstd, q, k, v, o, lse: attn.lse, h1, n2: n2.y, rstd2: n2.rstd, gate, up, act, xa },
  };
}

/** HF's window W lets a query see itself and the W − 1 keys before it (as ../layer.ts). */
export const attentionOptions = (window: number | null) => ({ causal: true, ...(window !== null ? { window: { left: window - 1 } } : {}) });

/** y + h (add.ts; consumes y); `anyWeight` only fills the norm's weight slot. */
function residual(b: KernelBackend, y: Tensor, h: Tensor, anyWeight: Tensor): Tensor {
  const out = add(b, y, h, anyWeight);
  y.dispose();
  return out;
}
