import { fromFloat64, toFloat64, type FloatDType } from '../../dtype.js';
import { uniform } from '../random.js';
import type { BenchShape, HostTensor, OpCase, RefTensor } from '../types.js';
import { ATTN_PROBLEMS, problemInputs, problemLabel, problemOptions, problemShapes, type AttnProblem } from '../flash_attention_forward/cases.js';
import { attnDims } from '../flash_attention_forward/dims.js';
import { attentionOptions } from '../flash_attention_forward/options.js';
import { attentionForwardRef } from '../flash_attention_forward/reference.js';

const ref = (h: HostTensor): RefTensor => ({ dtype: h.dtype, shape: h.shape, data: toFloat64(h.dtype, h.data) });

/**
 * The backward's inputs for a problem: the forward's, its o (rounded to the dtype) and f32 lse
 * from the float64 forward — what a training step hands the backward — and dO in [−1, 1].
 */
export function backwardInputs(p: AttnProblem, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const fwd = problemInputs(p, dtype, seed);
  const opts = attentionOptions.parse(problemOptions(p));
  const refs = Object.fromEntries(Object.entries(fwd).map(([k, h]) => [k, ref(h)])) as Record<string, RefTensor>;
  const dm = attnDims('flash_attention_backward', opts.layout, refs.q, refs.k, refs.v, refs.cuSeqlensQ, refs.cuSeqlensK);
  const r = attentionForwardRef({ q: refs.q, k: refs.k, v: refs.v, sinks: refs.sinks, cuSeqlensQ: refs.cuSeqlensQ, cuSeqlensK: refs.cuSeqlensK }, opts, dm);
  return {
    ...fwd,
    o: { dtype, shape: dm.oShape, data: fromFloat64(dtype, r.o) },
    lse: { dtype: 'f32', shape: dm.lseShape, data: Float32Array.from(r.lse) },
    dO: uniform(dtype, dm.oShape, seed + 5),
  };
}

/** Bench inputs without the float64 forward (far too slow at these sizes): o, dO random, lse in [4, 6]. */
function benchInputs(p: AttnProblem, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const s = problemShapes(p);
  const lseShape = [p.b ?? 1, p.hq, p.sq];
  return { ...problemInputs(p, dtype, seed), o: uniform(dtype, s.o, seed + 4), dO: uniform(dtype, s.o, seed + 5), lse: uniform('f32', lseShape, seed + 6, 4, 6) };
}

export const bwdCase = (p: AttnProblem): OpCase => ({
  label: problemLabel(p),
  options: problemOptions(p),
  quick: p.quick,
  make: (dtype, seed) => backwardInputs(p, dtype, seed),
});

export const BWD_CASES = ATTN_PROBLEMS.map(bwdCase);

export const BWD_BENCH: BenchShape[] = [
  { b: 4, sq: 4096, sk: 4096, hq: 32, hkv: 8, d: 128, causal: true },
  { b: 4, sq: 4096, sk: 4096, hq: 32, hkv: 32, d: 128 },
  { b: 2, sq: 8192, sk: 8192, hq: 16, hkv: 16, d: 64, causal: true },
  // A Llama-3.2-1B training step's attention (one 2048-token sequence).
  { b: 1, sq: 2048, sk: 2048, hq: 32, hkv: 8, d: 64, causal: true },
].map((p: AttnProblem) => ({ label: problemLabel(p), options: problemOptions(p), make: (d: FloatDType, s: number) => benchInputs(p, d, s) }));
