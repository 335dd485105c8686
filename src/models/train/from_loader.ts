import { OptionsError } from '../../errors.js';
import type { TrainBatch } from './data/loader.js';
import { IGNORE } from './labels.js';
import type { TrainExample } from './step.js';

/**
 * A PackedLoader batch as loraStep's examples. The loader's labels are already shifted
 * (labels[t] is the target of row t's logits, −100 at each sequence's last row); loraStep takes
 * HF's unshifted labels (labels[t] is token t's own label, shifted inside the step), so each
 * sequence's labels move one place right behind a −100 — lossless, since the shifted ones end
 * in −100 — and the step's targets are the loader's, row for row.
 */
export function batchExamples(batch: TrainBatch): TrainExample[] {
  const cu = batch.cuSeqlens;
  const out: TrainExample[] = [];
  for (let s = 0; s + 1 < cu.length; s++) {
    const ids = batch.ids.subarray(cu[s], cu[s + 1]);
    const shifted = batch.labels.subarray(cu[s], cu[s + 1]);
    if (shifted[shifted.length - 1] !== IGNORE) throw new OptionsError(`[lora] batch (${batch.cursor.epoch}, ${batch.cursor.batch}): sequence ${s} has a label at its last row, which has no next token to predict`);
    const labels = new Int32Array(ids.length);
    labels[0] = IGNORE;
    labels.set(shifted.subarray(0, shifted.length - 1), 1);
    out.push({ ids, labels });
  }
  return out;
}
