import type { RefTensor } from '../types.js';

/** PyTorch's padding_idx: a negative index counts from the end of the vocabulary. */
export const resolvePadding = (paddingIdx: number | undefined, v: number): number | undefined =>
  paddingIdx === undefined ? undefined : paddingIdx < 0 ? paddingIdx + v : paddingIdx;

export const idValid = (id: number, v: number): boolean => Number.isInteger(id) && id >= 0 && id < v;

/**
 * Embedding lookup in float64: y[t] = weight[ids[t]] (the padding row is gathered like any
 * other, as PyTorch does); an id outside [0, V) gives a zero row and is counted in `invalid`
 * (every tensor is device data, so the host cannot reject it before the launch).
 */
export function embeddingRef(weight: RefTensor, ids: RefTensor) {
  const [v, h] = weight.shape;
  const t = ids.data.length;
  const y = new Float64Array(t * h);
  let invalid = 0;
  for (let k = 0; k < t; k++) {
    const id = ids.data[k];
    if (!idValid(id, v)) {
      invalid++;
      continue;
    }
    y.set(weight.data.subarray(id * h, id * h + h), k * h);
  }
  return { y, invalid };
}

/**
 * The embedding's weight gradient in float64: dW[v] = dwIn[v] + Σ_{t: ids[t] = v} dy[t], the
 * padding row and ids outside [0, V) excluded. Also returns, per row, the number of terms
 * and Σ|terms| that the f32 summation's error bound needs.
 */
export function embeddingBackwardRef(dy: RefTensor, ids: RefTensor, v: number, paddingIdx: number | undefined, dwIn?: RefTensor) {
  const h = dy.shape[dy.shape.length - 1];
  const dw = dwIn ? Float64Array.from(dwIn.data) : new Float64Array(v * h);
  const mag = new Float64Array(v * h);
  for (let j = 0; j < mag.length; j++) mag[j] = Math.abs(dw[j]);
  const terms = new Float64Array(v);
  const pad = resolvePadding(paddingIdx, v);
  for (let k = 0; k < ids.data.length; k++) {
    const id = ids.data[k];
    if (!idValid(id, v) || id === pad) continue;
    terms[id]++;
    for (let j = 0; j < h; j++) {
      dw[id * h + j] += dy.data[k * h + j];
      mag[id * h + j] += Math.abs(dy.data[k * h + j]);
    }
  }
  return { dw, mag, terms };
}
