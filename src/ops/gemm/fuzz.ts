import type { FloatDType } from '../../dtype.js';
import { chance, dim, fuzzCase, int, pick, type Rand } from '../fuzz.js';
import { uniform } from '../random.js';
import type { HostTensor, OpCase } from '../types.js';

/**
 * gemm: M, N, K from the sizes that break tiles (1, primes, tile ± 1), every transpose,
 * rank-3 operands with a broadcast rank-2 one, alpha/beta/C, bias and every output dtype; a
 * third of the cases are decode-shaped (M ≤ 16, b as [N,K]: the small-M kernels).
 */
export function gemmFuzz(r: Rand): OpCase {
  const decode = chance(r, 0.3);
  const m = decode ? int(r, 1, 16) : dim(r, 300);
  const n = dim(r, decode ? 1100 : 300);
  const k = dim(r, Math.max(1, Math.min(1100, Math.floor((1 << 22) / (m * n)))));
  const transA = decode ? false : chance(r, 0.3);
  const transB = decode ? true : chance(r, 0.4);
  const batch = chance(r, 0.25) ? int(r, 2, 3) : 1;
  const batched = batch > 1 ? pick(r, ['a', 'b', 'both'] as const) : undefined;
  const alpha = chance(r, 0.3) ? pick(r, [0.5, -1.25, 2]) : undefined;
  const beta = chance(r, 0.25) ? pick(r, [1, -0.5, 0.25]) : undefined;
  const bias = chance(r, 0.3);
  const outDtype = chance(r, 0.25) ? pick(r, ['f32', 'f16', 'bf16'] as const) : undefined;
  const options: Record<string, unknown> = {};
  if (transA) options.transA = true;
  if (transB) options.transB = true;
  if (alpha !== undefined) options.alpha = alpha;
  if (beta !== undefined) options.beta = beta;
  if (outDtype) options.outDtype = outDtype;
  const aShape = transA ? [k, m] : [m, k];
  const bShape = transB ? [n, k] : [k, n];
  const bA = batched === 'a' || batched === 'both';
  const bB = batched === 'b' || batched === 'both';
  const yShape = batched ? [batch, m, n] : [m, n];
  const label = [`m=${m},n=${n},k=${k}`, ...Object.entries(options).map(([key, v]) => `${key}=${v}`), batched ? `batch=${batch}(${batched})` : '', bias ? 'bias' : ''].filter(Boolean).join(',');
  return fuzzCase(label, options, (dtype: FloatDType, seed: number) => {
    const od = outDtype ?? dtype;
    const out: Record<string, HostTensor> = {
      a: uniform(dtype, bA ? [batch, ...aShape] : aShape, seed),
      b: uniform(dtype, bB ? [batch, ...bShape] : bShape, seed + 1),
    };
    if (beta !== undefined) out.c = uniform(od, yShape, seed + 2);
    if (bias) out.bias = uniform(od, [n], seed + 3);
    return out;
  });
}
