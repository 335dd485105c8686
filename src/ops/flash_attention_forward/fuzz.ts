import { chance, dim, fuzzCase, int, pick, type Rand } from '../fuzz.js';
import type { OpCase } from '../types.js';
import { cumsum, problemInputs, problemLabel, problemOptions, type AttnProblem } from './cases.js';

const FAST_DIMS = [64, 80, 96, 128, 192, 256];

/** A head dim: a fast path, the smallest, or any multiple of 8 up to 256. */
const headDim = (r: Rand): number => (chance(r, 0.5) ? pick(r, FAST_DIMS) : chance(r, 0.3) ? pick(r, [8, 16, 32]) : 8 * int(r, 1, 32));

/**
 * An attention problem within a work budget (the float64 reference and the CPU-emulated GPUs
 * of the tests): every head dim class, Dv ≠ D, GQA groups 1–8 and MQA, both layouts, causal
 * with drawn offsets (fully masked rows), windows on either or both sides, softcap, sinks, and
 * varlen batches with empty sequences, padding tokens and, rarely, malformed cu_seqlens.
 */
export function attentionProblem(r: Rand, budget = 1 << 20): AttnProblem {
  const d = headDim(r);
  const dv = chance(r, 0.7) ? d : headDim(r);
  const hkv = pick(r, [1, 1, 2, 3]);
  const hq = hkv * pick(r, [1, 2, 4, 8]);
  const p: AttnProblem = { sq: 1, sk: 1, hq, hkv, d, dv, layout: chance(r, 0.5) ? 'bshd' : 'bhsd' };
  // Query-key pairs the budget allows, over heads and head dims.
  const pairs = Math.max(1, Math.floor(budget / (hq * (d + dv))));
  if (chance(r, 0.25)) {
    const nseq = int(r, 1, 4);
    const per = Math.max(1, Math.floor(Math.sqrt(pairs / nseq)));
    p.seqQ = Array.from({ length: nseq }, () => (chance(r, 0.15) ? 0 : dim(r, Math.min(per, 60))));
    p.seqK = Array.from({ length: nseq }, () => (chance(r, 0.15) ? 0 : dim(r, Math.min(per, 90))));
    if (chance(r, 0.3)) p.padQ = int(r, 1, 5);
    if (chance(r, 0.3)) p.padK = int(r, 1, 5);
    if (chance(r, 0.06)) {
      // Malformed on purpose (one entry negative, past the end or out of order): every output
      // must be NaN and nothing may be read out of bounds.
      const cuQ = cumsum(p.seqQ);
      const cuK = cumsum(p.seqK);
      const totalQ = Math.max(1, cuQ[cuQ.length - 1] + (p.padQ ?? 0));
      const totalK = Math.max(1, cuK[cuK.length - 1] + (p.padK ?? 0));
      const which = pick(r, [cuQ, cuK]);
      const at = int(r, 0, which.length - 1);
      which[at] = pick(r, [-1, which[at] + 1000, 2 ** 31 - 1, -(2 ** 31)]);
      Object.assign(p, { cuQ, cuK, sq: totalQ, sk: totalK, seqQ: undefined, seqK: undefined, padQ: undefined, padK: undefined });
    }
  } else {
    p.b = chance(r, 0.3) ? int(r, 2, 3) : 1;
    const perB = Math.max(1, Math.floor(pairs / p.b));
    p.sk = dim(r, Math.max(1, Math.min(chance(r, 0.2) ? 2048 : 200, perB)));
    p.sq = dim(r, Math.max(1, Math.min(130, Math.floor(perB / p.sk))));
  }
  if (chance(r, 0.5)) p.causal = true;
  const sq = p.seqQ ? Math.max(1, ...p.seqQ) : p.sq;
  const sk = p.seqK ? Math.max(1, ...p.seqK) : p.sk;
  if (chance(r, 0.25)) p.queryOffset = int(r, -sq - 2, sk + 2);
  if (chance(r, 0.25)) {
    const w: { left?: number; right?: number } = {};
    if (chance(r, 0.7)) w.left = chance(r, 0.2) ? 0 : dim(r, sk + 4);
    if (chance(r, 0.5)) w.right = chance(r, 0.2) ? 0 : dim(r, sk + 4);
    p.window = w;
  }
  if (chance(r, 0.2)) p.softcap = pick(r, [5, 20, 50]);
  if (chance(r, 0.2)) p.scale = pick(r, [0.5, 0.088, 1, -0.25]);
  if (chance(r, 0.25)) p.sinks = true;
  p.range = pick(r, [1, 2, 2, 4, 8]);
  return p;
}

export function attentionFwdFuzz(r: Rand): OpCase {
  const p = attentionProblem(r);
  return fuzzCase(problemLabel(p), problemOptions(p), (dtype, seed) => problemInputs(p, dtype, seed));
}
