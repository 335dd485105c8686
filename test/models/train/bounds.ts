import type { ModelConfig } from '../../../src/models/config.js';

/**
 * The bound, in units of u = 2^-24 relative to the largest |value| of the compared tensor
 * (elements near zero carry the error of the large ones they are summed from), by the model
 * the logits golden test uses (golden.test.ts): every op on the path from the inputs to the
 * result adds its output rounding, amplified by a local gain of at most 16 (cpu: float64
 * inside each op, one f32 rounding out), and on a GPU its f32 sums add γ_L ≈ L·u of the
 * summed magnitudes for an L-term reduction. The ops and their L, in path order:
 *   forward: embedding; per layer input norm (H), q/k/v projection (H), q/k norm (D, Qwen3),
 *   rope, attention (S keys), o projection (Hq·D), residual add, post norm (H), gate/up (H),
 *   swiglu, down (I), residual add; final norm (H), lm head (H), cross-entropy (V).
 *   backward: cross-entropy (elementwise with lse), lm head (V), final norm (H); per layer
 *   down (H; its dA/dB sum T tokens), swiglu, gate/up (I), add, post norm (H), add,
 *   o (H), attention (S), rope, q/k norm (D), q/k/v (Hq·D; dA/dB T), add, add, input norm (H), add.
 */
export function pathOps(c: ModelConfig, S: number, T: number, backward: boolean): number[] {
  const H = c.hiddenSize;
  const D = c.headDim;
  const q = c.numHeads * D;
  const I = c.intermediateSize;
  const qk = c.qkNorm ? [D] : [];
  const fwdLayer = [H, H, ...qk, 1, S, q, 1, H, H, 1, I, 1];
  const fwd = [1, ...Array.from({ length: c.numLayers }, () => fwdLayer).flat(), H, H, c.vocabSize];
  if (!backward) return fwd;
  const bwdLayer = [Math.max(H, T), 1, I, 1, H, 1, H, S, 1, ...qk, Math.max(q, T), 1, 1, H, 1];
  return [...fwd, 1, c.vocabSize, H, ...Array.from({ length: c.numLayers }, () => bwdLayer).flat()];
}
export const boundUlps = (ops: number[], gpu: boolean): number => ops.reduce((a, L) => a + 16 + (gpu ? L : 0), 0);
