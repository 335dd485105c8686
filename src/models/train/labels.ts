import { OptionsError } from '../../errors.js';
import type { PackedBatch } from '../batch.js';

/** HF's ignore index: a label that takes no part in the loss. */
export const IGNORE = -100;

/**
 * The cross-entropy targets of a packed batch, HF's causal-LM convention: position t of a
 * sequence predicts labels[t + 1]; the last position of each sequence predicts nothing
 * (IGNORE), so no sequence learns from its neighbour in the pack. `labels[b]` has one entry per
 * token of sequence b (IGNORE masks one, e.g. a prompt); absent, the tokens themselves.
 */
export function shiftedTargets(batch: PackedBatch, labels: readonly (readonly number[] | Int32Array | undefined)[] | undefined, vocabSize: number): { targets: Int32Array; counted: number } {
  const targets = new Int32Array(batch.ids.length).fill(IGNORE);
  if (labels !== undefined && labels.length !== batch.lengths.length) throw new OptionsError(`[lora] labels: expected one label sequence per token sequence (${batch.lengths.length}), got ${labels.length}`);
  let counted = 0;
  batch.lengths.forEach((n, s) => {
    const lab = labels?.[s];
    if (lab !== undefined && lab.length !== n) throw new OptionsError(`[lora] labels[${s}]: expected ${n} labels (one per token), got ${lab.length}`);
    const start = batch.cu[s];
    for (let t = 0; t + 1 < n; t++) {
      const y = lab === undefined ? batch.ids[start + t + 1] : lab[t + 1];
      if (y === IGNORE) continue;
      if (!Number.isInteger(y) || y < 0 || y >= vocabSize) throw new OptionsError(`[lora] labels[${s}][${t + 1}]: expected a token id in [0, ${vocabSize}) or ${IGNORE}, got ${y}`);
      targets[start + t] = y;
      counted++;
    }
  });
  return { targets, counted };
}
