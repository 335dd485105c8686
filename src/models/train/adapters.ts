import type { FloatDType } from '../../dtype.js';
import type { Tensor } from '../../tensor.js';
import type { ModelConfig } from '../config.js';

/** The linear layers of a decoder layer LoRA can adapt, by PEFT's module names (q_proj → 'q'). */
export const LORA_TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** HF's module path of each target inside `model.layers.N` (what PEFT's keys carry). */
export const TARGET_MODULE: Record<LoraTarget, string> = {
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
};

/** [out, in] of each target's frozen weight: A is [r, in], B is [out, r]. */
export function targetDims(c: ModelConfig, t: LoraTarget): { out: number; in: number } {
  const H = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  return { q: { out: q, in: H }, k: { out: kv, in: H }, v: { out: kv, in: H }, o: { out: H, in: q }, gate: { out: I, in: H }, up: { out: I, in: H }, down: { out: H, in: I } }[t];
}

/** One adapted projection: y = x·Wᵀ + scale·(drop(x)·Aᵀ)·Bᵀ. */
export interface LoraPair {
  /** [r, in], the model's compute dtype. */
  readonly A: Tensor;
  /** [out, r]. */
  readonly B: Tensor;
}

export type LayerAdapters = Partial<Record<LoraTarget, LoraPair>>;

export interface LoraSettings {
  readonly r: number;
  /** PEFT's lora_alpha. */
  readonly alpha: number;
  /** rsLoRA (PEFT's use_rslora): scale alpha / √r instead of alpha / r. */
  readonly rslora: boolean;
  /** The factor on B·A: alpha / r, or alpha / √r with rsLoRA. */
  readonly scale: number;
  readonly dropout: number;
  readonly targets: readonly LoraTarget[];
}

/** The adapters of every layer on one backend (every targeted projection of every layer). */
export interface LoraAdapters {
  readonly settings: LoraSettings;
  readonly dtype: FloatDType;
  readonly layers: readonly LayerAdapters[];
}

/** f32 gradients of one layer's adapters (dA [r, in], dB [out, r]); a backward accumulates into the entries present. */
export type LayerGrads = Partial<Record<LoraTarget, { dA: Tensor; dB: Tensor }>>;

/** Gradients of every adapter, the structure of LoraAdapters. */
export interface LoraGrads {
  readonly layers: LayerGrads[];
}

/** The options fused_lora_forward/backward take for these settings (their alpha is scale·r). */
// Without dropout the mask is all ones and the seed unused: seed 0 keeps the options (and so the
// op's plan and launch tape) the same from step to step.
export const loraOpOptions = (s: LoraSettings, seed: number) => ({ alpha: s.scale * s.r, dropout: s.dropout, seed: s.dropout > 0 ? seed : 0 });

export function disposeAdapters(a: LoraAdapters): void {
  for (const l of a.layers) for (const p of Object.values(l)) if (p) (p.A.dispose(), p.B.dispose());
}

export function disposeGrads(g: LoraGrads): void {
  for (const l of g.layers) for (const p of Object.values(l)) if (p) (p.dA.dispose(), p.dB.dispose());
}
