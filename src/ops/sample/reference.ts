import { rowsCols } from '../check.js';
import { lseError } from '../cross_entropy/reference.js';
import { U32 } from '../tolerance.js';
import type { RefTensor } from '../types.js';
import { philox4x32 } from './philox.js';
import { KEY_NEG_INF, clampScale, keyOf, processLogit, weightOfKey, zOfKey } from './weights.js';

export interface SampleOptions {
  topLogprobs: number;
  /** A hint only (spec.ts): the token never depends on it. */
  rowsWithoutTopK: boolean;
}

type Inputs = Partial<Record<'logits' | 'seeds' | 'offsets' | 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'presencePenalty' | 'frequencyPenalty' | 'counts' | 'logitBias', RefTensor>>;

const at = (t: RefTensor | undefined, i: number, dflt: number): number => (t ? t.data[i] : dflt);

/** The rows' keys (order), processed logits and log-sum-exp, as every backend computes them. */
export function processedRows(i: Inputs) {
  const [rows, v] = rowsCols(i.logits!.shape);
  const keys = new Uint32Array(rows * v);
  const z = new Float64Array(rows * v);
  const lse = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = {
      temperature: at(i.temperature, r, 1),
      repetitionPenalty: at(i.repetitionPenalty, r, 1),
      presencePenalty: at(i.presencePenalty, r, 0),
      frequencyPenalty: at(i.frequencyPenalty, r, 0),
    };
    let max = -Infinity;
    let inf = false;
    for (let j = 0; j < v; j++) {
      const e = r * v + j;
      const k = keyOf(processLogit(i.logits!.data[e], i.logitBias?.data[e], i.counts ? i.counts.data[e] : 0, o));
      keys[e] = k;
      // The z every later step sees is the key's (NaN → −∞, −0 → +0).
      z[e] = zOfKey(k);
      max = Math.max(max, z[e]);
      inf ||= z[e] === Infinity;
    }
    // The kernels' log2-domain online sum turns a +∞ logit into NaN (∞ − ∞); all −∞ gives −∞.
    if (inf) lse[r] = NaN;
    else if (max === -Infinity) lse[r] = -Infinity;
    else {
      let s = 0;
      for (let j = 0; j < v; j++) s += Math.exp(z[r * v + j] - max);
      lse[r] = max + Math.log(s);
    }
  }
  return { rows, v, keys, z, lse };
}

/** Order (key descending, id ascending) of one row's ids. */
function sortedIds(keys: Uint32Array, off: number, v: number): number[] {
  const ids = Array.from({ length: v }, (_, j) => j);
  return ids.sort((a, b) => keys[off + b] - keys[off + a] || a - b);
}

/**
 * The sampler in float64 / exact integers, by its definition (spec.ts): greedy rows take the
 * lowest id of the largest key; sampled rows keep the shortest of the top-k, top-p (over the
 * top-k set) and min-p prefixes of the order, and pick the kept token whose id-ordered
 * prefix of integer weights first exceeds floor(u·W/2^32), u = philox4x32_10((offset, 0, 0, 0),
 * (seed0, seed1))[0].
 */
export function sampleRef(i: Inputs, o: SampleOptions) {
  const { rows, v, keys, z, lse } = processedRows(i);
  const n = o.topLogprobs;
  const tokens = new Float64Array(rows);
  const logprobs = new Float64Array(rows);
  const topIds = new Float64Array(rows * n);
  const topLogprobs = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const off = r * v;
    const order = sortedIds(keys, off, v);
    const kmax = keys[off + order[0]];
    for (let t = 0; t < n; t++) {
      topIds[r * n + t] = order[t];
      topLogprobs[r * n + t] = z[off + order[t]] - lse[r];
    }
    if (kmax === KEY_NEG_INF) {
      tokens[r] = -1;
      logprobs[r] = NaN;
      continue;
    }
    let tok: number;
    if (clampScale(at(i.temperature, r, 1)) === undefined) tok = order[0];
    else {
      const w = order.map((j) => weightOfKey(keys[off + j], kmax));
      const k = at(i.topK, r, 0);
      let len = k >= 1 && k < v ? k : v;
      const p = at(i.topP, r, 1);
      if (!(p >= 1) && !Number.isNaN(p)) {
        // Keep the shortest prefix whose weight reaches ceil(W_k·P/2^24) (at least 1), P = floor(p·2^24):
        // HF's "drop a token once the mass before it is ≥ p", on integer weights.
        const P = BigInt(Math.floor(Math.max(p, 0) * 2 ** 24));
        let wk = 0n;
        for (let t = 0; t < len; t++) wk += BigInt(w[t]);
        let tp = (wk * P + (1n << 24n) - 1n) >> 24n;
        if (tp < 1n) tp = 1n;
        let acc = 0n;
        let lp = 0;
        while (acc < tp) acc += BigInt(w[lp++]);
        len = Math.min(len, lp);
      }
      const mp = at(i.minP, r, 0);
      if (mp > 0) {
        const thr = Math.floor(Math.min(mp, 1) * 2 ** 24) * 128;
        let lm = 0;
        while (lm < v && w[lm] >= thr) lm++;
        len = Math.min(len, lm);
      }
      const kept = new Set(order.slice(0, len));
      const wOf = new Map(order.slice(0, len).map((j, t) => [j, w[t]]));
      let total = 0n;
      for (const t of wOf.values()) total += BigInt(t);
      const seed0 = i.seeds!.data[2 * r];
      const seed1 = i.seeds!.data[2 * r + 1];
      const u = philox4x32([at(i.offsets, r, 0), 0, 0, 0], [seed0, seed1])[0];
      const target = (BigInt(u) * total) >> 32n;
      let acc = 0n;
      tok = -1;
      for (let j = 0; j < v; j++) {
        if (!kept.has(j)) continue;
        acc += BigInt(wOf.get(j)!);
        if (acc > target) {
          tok = j;
          break;
        }
      }
    }
    tokens[r] = tok;
    logprobs[r] = z[off + tok] - lse[r];
  }
  return { tokens, logprobs, topIds, topLogprobs, rows, v, z, lse };
}

/**
 * The bound of a reported log-probability z_j − lse: the kernels' lse is the cross-entropy
 * forward's (online log2-domain sum with an integer running max, lseError in
 * cross_entropy/reference.ts) over the finite processed logits — exact inputs here (dz = 0) —
 * then the f32 subtraction u·|z_j − lse|; the output rounding is added by toDtype.
 */
export function logprobErrors(z: Float64Array, lse: Float64Array, rows: number, v: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    if (!Number.isFinite(lse[r])) continue;
    const fin: number[] = [];
    for (let j = 0; j < v; j++) if (z[r * v + j] > -Infinity) fin.push(z[r * v + j]);
    const zf = Float64Array.from(fin);
    out[r] = lseError(zf, new Float64Array(zf.length), 0, zf.length, lse[r]);
  }
  return out;
}

export const logprobBound = (lseErr: number, value: number): number => lseErr + U32 * Math.abs(value);
