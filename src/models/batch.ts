import { OptionsError } from '../errors.js';

/**
 * Sequences of token ids packed back to back, the layout every op of a forward pass takes:
 * one row per token, the position of each token within its own sequence (for rope), and the
 * sequence boundaries (for variable-length attention) — no padding anywhere.
 */
export interface PackedBatch {
  readonly ids: Int32Array;
  readonly positions: Int32Array;
  /** cu[b]..cu[b+1]−1 are sequence b's rows; cu[B] = ids.length. */
  readonly cu: Int32Array;
  readonly lengths: readonly number[];
}

/** Packs and checks token ids: integers in [0, vocab), every sequence non-empty. */
export function packSequences(seqs: readonly (readonly number[] | Int32Array)[], vocabSize: number, offsets?: readonly number[]): PackedBatch {
  if (!Array.isArray(seqs) || seqs.length === 0) throw new OptionsError('[model] tokens: expected a non-empty array of token-id sequences');
  const lengths = seqs.map((s, b) => {
    if (!s || typeof s.length !== 'number' || s.length === 0) throw new OptionsError(`[model] tokens[${b}]: expected a non-empty sequence of token ids`);
    return s.length;
  });
  const total = lengths.reduce((a, n) => a + n, 0);
  const ids = new Int32Array(total);
  const positions = new Int32Array(total);
  const cu = new Int32Array(seqs.length + 1);
  let t = 0;
  seqs.forEach((s, b) => {
    const off = offsets?.[b] ?? 0;
    for (let i = 0; i < s.length; i++, t++) {
      const id = s[i];
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new OptionsError(`[model] tokens[${b}][${i}]: expected a token id in [0, ${vocabSize}), got ${id}`);
      ids[t] = id;
      positions[t] = off + i;
    }
    cu[b + 1] = t;
  });
  return { ids, positions, cu, lengths };
}
