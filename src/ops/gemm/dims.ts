/**
 * gemm's dimension logic, the one copy: the spec's checks, the reference, both backends'
 * launchers and the metal router (PMetal's m·n·k rule) all resolve a call through it.
 */
/** The shape of a gemm call, resolved from a, b and the transposes (see spec.ts check()). */
export interface GemmDims {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** Element strides between batches (0 for an operand broadcast over the batch). */
  aStride: number;
  bStride: number;
  /** y has a leading batch dimension (some operand has rank 3). */
  batched: boolean;
}

export function gemmDims(aShape: readonly number[], bShape: readonly number[], transA: boolean, transB: boolean): GemmDims {
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  // The batch of the rank-3 operand (check() makes two of them agree); a rank-2 one
  // broadcasts, so a batch of 0 (an empty batch) stays 0.
  const batch = aShape.length === 3 ? aShape[0] : bShape.length === 3 ? bShape[0] : 1;
  return {
    batch,
    m,
    n,
    k,
    aStride: aShape.length === 3 ? m * k : 0,
    bStride: bShape.length === 3 ? k * n : 0,
    batched: aShape.length === 3 || bShape.length === 3,
  };
}
