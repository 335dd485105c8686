import { z } from 'zod';
import { BYTES, FLOAT_DTYPES, type FloatDType } from '../../dtype.js';
import { OptionsError, ShapeError } from '../../errors.js';
import { expectDtype, expectRank, expectSameDtype, expectShape, f32Scalar, fmt, required } from '../check.js';
import { uniform } from '../random.js';
import { U32, boundsOf, gamma } from '../tolerance.js';
import { defineOp, type HostTensor, type OpCase } from '../types.js';
import { gemmDims } from './dims.js';
import { gemmRef } from './reference.js';
import { gemmFuzz } from './fuzz.js';

export const gemmOptions = z
  .object({
    transA: z.boolean().default(false),
    transB: z.boolean().default(false),
    /** Both packed as f32 (f32Scalar: 0 or a normal f32). */
    alpha: f32Scalar().default(1),
    beta: f32Scalar().default(0),
    /** Output dtype (c and bias have it too); default: the dtype of a. */
    outDtype: z.enum(['f32', 'f16', 'bf16']).optional(),
  })
  .strict();
export type GemmOptions = z.input<typeof gemmOptions>;
type Opts = z.output<typeof gemmOptions>;

interface CaseShape {
  m: number;
  n: number;
  k: number;
  /** Leading batch of a / b (rank 3); absent = rank 2 (broadcast over the other's batch). */
  batchA?: number;
  batchB?: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  bias?: boolean;
  outDtype?: FloatDType;
  quick?: boolean;
}

function makeInputs(s: CaseShape, dtype: FloatDType, seed: number): Record<string, HostTensor> {
  const aShape = s.transA ? [s.k, s.m] : [s.m, s.k];
  const bShape = s.transB ? [s.n, s.k] : [s.k, s.n];
  const batch = Math.max(s.batchA ?? 1, s.batchB ?? 1);
  const yShape = s.batchA || s.batchB ? [batch, s.m, s.n] : [s.m, s.n];
  const od = s.outDtype ?? dtype;
  return {
    a: uniform(dtype, s.batchA ? [s.batchA, ...aShape] : aShape, seed),
    b: uniform(dtype, s.batchB ? [s.batchB, ...bShape] : bShape, seed + 1),
    ...(s.beta ? { c: uniform(od, yShape, seed + 2) } : {}),
    ...(s.bias ? { bias: uniform(od, [s.n], seed + 3) } : {}),
  };
}

function gemmCase(s: CaseShape): OpCase {
  const flags = [
    s.batchA ? `batchA=${s.batchA}` : '',
    s.batchB ? `batchB=${s.batchB}` : '',
    s.transA ? 'transA' : '',
    s.transB ? 'transB' : '',
    s.alpha !== undefined ? `alpha=${s.alpha}` : '',
    s.beta ? `beta=${s.beta}` : '',
    s.bias ? 'bias' : '',
    s.outDtype ? `out=${s.outDtype}` : '',
  ].filter(Boolean);
  return {
    label: [`m=${s.m},n=${s.n},k=${s.k}`, ...flags].join(','),
    options: {
      ...(s.transA ? { transA: true } : {}),
      ...(s.transB ? { transB: true } : {}),
      ...(s.alpha !== undefined ? { alpha: s.alpha } : {}),
      ...(s.beta ? { beta: s.beta } : {}),
      ...(s.outDtype ? { outDtype: s.outDtype } : {}),
    },
    quick: s.quick,
    make: (dtype, seed) => makeInputs(s, dtype, seed),
  };
}

const OP = 'gemm';

export const gemm = defineOp({
  name: OP,
  summary: 'y = alpha·op(A)·op(B) + beta·C + bias (optional transposes, batched with broadcast), f32 accumulation.',
  inputs: [
    { name: 'a', doc: '[M,K] ([K,M] with transA) or [batch,M,K]' },
    { name: 'b', doc: '[K,N] ([N,K] with transB) or [batch,K,N], dtype of a' },
    { name: 'c', optional: true, doc: 'shape of y, the output dtype; required when beta ≠ 0 (and only then)' },
    { name: 'bias', optional: true, doc: '[N], the output dtype, added to every row' },
  ],
  outputs: [{ name: 'y', doc: '[M,N] or [batch,M,N], outDtype (default: dtype of a)' }],
  options: gemmOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const a = required(OP, 'a', i.a);
    const b = required(OP, 'b', i.b);
    expectRank(OP, 'a', a, [2, 3], `${o.transA ? '[K,M]' : '[M,K]'} or [batch,${o.transA ? 'K,M' : 'M,K'}]`);
    expectRank(OP, 'b', b, [2, 3], `${o.transB ? '[N,K]' : '[K,N]'} or [batch,${o.transB ? 'N,K' : 'K,N'}]`);
    expectDtype(OP, 'a', a, FLOAT_DTYPES);
    expectSameDtype(OP, 'b', b, a, 'a');
    const d = gemmDims(a.shape, b.shape, o.transA, o.transB);
    const bK = o.transB ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2];
    if (bK !== d.k) {
      throw new ShapeError(`[${OP}] b: expected the reduction length K=${d.k} of a (${fmt(a)}${o.transA ? ', transA' : ''}) in ${o.transB ? 'its last dimension (transB)' : 'its first matrix dimension'}, got ${fmt(b)}`);
    }
    if (a.shape.length === 3 && b.shape.length === 3 && a.shape[0] !== b.shape[0]) {
      throw new ShapeError(`[${OP}] b: expected batch ${a.shape[0]} (the batch of a) or a rank-2 b to broadcast, got ${fmt(b)}`);
    }
    const outDtype = o.outDtype ?? (a.dtype as FloatDType);
    const yShape = d.batched ? [d.batch, d.m, d.n] : [d.m, d.n];
    if (o.beta !== 0 && !i.c) throw new ShapeError(`[${OP}] c: required when beta ≠ 0 (beta = ${o.beta}), got none`);
    if (o.beta === 0 && i.c) throw new OptionsError(`[${OP}] beta: expected a nonzero beta when c is given (beta = 0 would ignore c), got 0`);
    if (i.c) expectShape(OP, 'c', i.c, yShape, outDtype);
    if (i.bias) expectShape(OP, 'bias', i.bias, [d.n], outDtype);
    return { y: { dtype: outDtype, shape: yShape } };
  },
  reference(i, o) {
    const { y, dims } = gemmRef(i.a!, i.b!, i.c, i.bias, o);
    const outDtype = o.outDtype ?? (i.a!.dtype as FloatDType);
    return { y: { dtype: outDtype, shape: dims.batched ? [dims.batch, dims.m, dims.n] : [dims.m, dims.n], data: y } };
  },
  bounds(i, o, ref) {
    // Inputs reach the kernel exactly (f16/bf16 → f32 is exact) and a product of two f16 or
    // bf16 values is exact in f32, so the only error of s = Σ_k a_ik·b_kj is the f32
    // accumulation: |ŝ − s| ≤ γ_K·S with S = Σ_k |a_ik·b_kj| (any order, any blocking, fma or
    // not; for f32 inputs γ_K also covers the K product roundings). The SIMT kernels round
    // each add to nearest (unit u = 2^-24). The subgroup-matrix tier (f16 inputs only)
    // accumulates in the GPU's matrix units, whose f32 additions align and truncate
    // (Fasi, Higham, Mikaitis & Pranesh 2021, NVIDIA tensor cores): unit 2u, i.e. γ_2K.
    // Metal fits the same model: the metal3 tier's simdgroup_float8x8 multiply-accumulates
    // run on the f32 ALUs (Apple7–9 have no separate matrix units), rounding each add to
    // nearest; the metal4 tier asks MPP matmul2d for relaxed_precision = false, which Apple's
    // header documents as not trading accuracy for speed, and accumulates in an f32
    // destination (γ_K; f16 keeps γ_2K, which also covers a truncating accelerator add).
    // Then y = ((α·ŝ ⊕ β·c) ⊕ bias), one rounding per operation:
    //   |ŷ − y| ≤ |α|·γ_K·S·(1+u)³ + γ_3·(|α|·S + |β·c|) + u·|bias|     (using |s| ≤ S)
    // and last the rounding to the output dtype (toDtype; for f32 output it recounts the
    // final f32 rounding, u·|y|).
    const { absSum } = gemmRef(i.a!, i.b!, i.c, i.bias, o, true);
    const S = absSum!;
    const k = gemmDims(i.a!.shape, i.b!.shape, o.transA, o.transB).k;
    const gAcc = i.a!.dtype === 'f16' ? gamma(2 * k) : gamma(k);
    const g3 = gamma(3);
    const alpha = Math.abs(o.alpha);
    const y = ref.y!.data;
    const c = i.c?.data;
    const bias = i.bias?.data;
    const n = bias?.length ?? 0;
    return {
      y: boundsOf(ref.y!.dtype, y, (j) => {
        const p = alpha * S[j];
        const q = c ? Math.abs(o.beta * c[j]) : 0;
        const r = bias ? Math.abs(bias[j % n]) : 0;
        return gAcc * p * (1 + U32) ** 3 + g3 * (p + q) + U32 * r;
      }),
    };
  },
  cases: [
    gemmCase({ m: 1, n: 1, k: 1, quick: true }),
    gemmCase({ m: 1, n: 65, k: 64, quick: true }),
    gemmCase({ m: 33, n: 65, k: 17, quick: true }),
    gemmCase({ m: 127, n: 129, k: 31, quick: true }),
    gemmCase({ m: 17, n: 19, k: 1, quick: true }),
    gemmCase({ m: 64, n: 64, k: 64, quick: true }),
    gemmCase({ m: 31, n: 33, k: 20, transA: true, quick: true }),
    gemmCase({ m: 29, n: 35, k: 21, transB: true, quick: true }),
    gemmCase({ m: 30, n: 27, k: 25, transA: true, transB: true, quick: true }),
    gemmCase({ m: 20, n: 24, k: 18, batchA: 3, quick: true }),
    gemmCase({ m: 19, n: 23, k: 22, batchB: 2, transB: true, quick: true }),
    gemmCase({ m: 45, n: 37, k: 29, alpha: 0.5, beta: -1.5, bias: true, quick: true }),
    gemmCase({ m: 23, n: 41, k: 35, batchA: 2, batchB: 2, bias: true, outDtype: 'f32', quick: true }),
    // K a multiple of 32 with ragged M/N, each transpose and the epilogue: the shapes the
    // metal4 (MPP) tier accepts, so it is exercised by the quick subset too.
    gemmCase({ m: 33, n: 70, k: 96, transA: true, quick: true }),
    gemmCase({ m: 45, n: 66, k: 64, transB: true, alpha: 0.5, beta: 2, bias: true, quick: true }),
    gemmCase({ m: 17, n: 80, k: 32, transA: true, transB: true, batchA: 2, quick: true }),
    // Decode-style small M with b as [N,K]: the gemv kernel, on 4-element runs (two row
    // blocks, ragged N, batched, the epilogue; a broadcast a) and element by element.
    gemmCase({ m: 12, n: 37, k: 264, transB: true, batchA: 2, batchB: 2, beta: 0.5, bias: true, quick: true }),
    gemmCase({ m: 5, n: 21, k: 100, transB: true, batchB: 2, quick: true }),
    gemmCase({ m: 3, n: 9, k: 37, transB: true, quick: true }),
    // …and f16 on the subgroup-matrix tier's matrix-unit GEMV (gemm_gemv_sgmat, K a multiple
    // of 8): N and K no multiples of 16 (its moved-back edge tile, the K % 16 = 8 tail step),
    // K past one 256-wide chunk with dead slices in the last, M = 5, 8 (16×8×16) and 16.
    gemmCase({ m: 5, n: 37, k: 136, transB: true, quick: true }),
    gemmCase({ m: 8, n: 50, k: 600, transB: true, beta: 0.5, bias: true, quick: true }),
    gemmCase({ m: 16, n: 45, k: 280, transB: true, batchA: 2, outDtype: 'f32', quick: true }),
    // Few output tiles over a long K (LoRA's T×r and r×K products): the webgpu split-K path
    // (gemm_splitk.ts: f32 partials of K chunks, then one epilogue), ragged chunks included.
    gemmCase({ m: 24, n: 20, k: 4100, alpha: 0.5, beta: -1.5, bias: true, quick: true }),
    gemmCase({ m: 19, n: 33, k: 4000, transA: true, transB: true, outDtype: 'f32', quick: true }),
    gemmCase({ m: 70, n: 16, k: 5000, transB: true, quick: true }),
    // …and with every row a whole number of 16-byte words, so the subgroup-matrix tier's
    // aligned kernel (gemm_sgmat_vec) takes the split too.
    gemmCase({ m: 64, n: 16, k: 1024, transB: true, quick: true }),
    gemmCase({ m: 16, n: 64, k: 768, transA: true, outDtype: 'f32', quick: true }),
    gemmCase({ m: 48, n: 24, k: 512, beta: 0.5, bias: true, quick: true }),
    // bf16 on the matrix units (webgpu subgroup-matrix tier, gemm_bf16.ts) needs K ≥ 66 and
    // operands aligned to 8 elements, and M > 16 where b is [N,K]: several K windows, each
    // layout, the epilogue, a ragged LM-head-like N.
    gemmCase({ m: 40, n: 72, k: 200, quick: true }),
    gemmCase({ m: 24, n: 40, k: 136, transA: true, transB: true, batchA: 2, beta: 0.5, bias: true, quick: true }),
    gemmCase({ m: 32, n: 104, k: 264, transB: true, outDtype: 'f32', quick: true }),
    // M, N, K multiples of 16 past the decode sizes, whole fragments everywhere: both layouts
    // of each operand, batches, the epilogue.
    gemmCase({ m: 48, n: 32, k: 80, transA: true, transB: true, batchA: 2, batchB: 2, beta: 0.5, bias: true, quick: true }),
    gemmCase({ m: 32, n: 48, k: 144, transB: true, batchB: 2, alpha: 2, quick: true }),
    // K = 0: y = beta·C + bias (torch.addmm), on every kernel that can be picked.
    gemmCase({ m: 5, n: 7, k: 0, beta: 0.5, bias: true, quick: true }),
    gemmCase({ m: 3, n: 9, k: 0, transB: true, quick: true }),
    gemmCase({ m: 40, n: 72, k: 0, batchA: 2, transA: true, beta: -1, quick: true }),
    gemmCase({ m: 64, n: 64, k: 4096 }),
    gemmCase({ m: 128, n: 128, k: 128 }),
    gemmCase({ m: 130, n: 131, k: 129 }),
    gemmCase({ m: 1, n: 4096, k: 512, transB: true }),
    gemmCase({ m: 256, n: 200, k: 300, batchA: 2, batchB: 2, transA: true, transB: true, alpha: 2, beta: 0.25, bias: true }),
    gemmCase({ m: 65, n: 67, k: 66, batchA: 4, batchB: 4, transA: true }),
    gemmCase({ m: 96, n: 160, k: 40, batchB: 3, beta: 1, outDtype: 'f32' }),
  ],
  bench: [
    { label: 'm=4096,n=4096,k=4096', options: {}, make: (d, s) => makeInputs({ m: 4096, n: 4096, k: 4096 }, d, s) },
    { label: 'm=8192,n=8192,k=8192', options: {}, make: (d, s) => makeInputs({ m: 8192, n: 8192, k: 8192 }, d, s) },
    // Llama-3-8B MLP shapes over 4096 tokens: up/gate (N = 14336) and down (K = 14336).
    { label: 'm=4096,n=14336,k=4096', options: {}, make: (d, s) => makeInputs({ m: 4096, n: 14336, k: 4096 }, d, s) },
    { label: 'm=4096,n=4096,k=14336', options: {}, make: (d, s) => makeInputs({ m: 4096, n: 4096, k: 14336 }, d, s) },
    // LM heads (weights stored [V, H]): vocabularies that are no multiple of any tile, next
    // to an aligned one of about the same size (32000) for the unaligned/aligned ratio.
    ...[32000, 32001, 50257, 128256, 151936].map((v) => ({
      label: `m=2048,n=${v},k=4096,transB`,
      options: { transB: true },
      make: (d: FloatDType, s: number) => makeInputs({ m: 2048, n: v, k: 4096, transB: true }, d, s),
    })),
    // Decode (GEMV): 1, 8 and 16 tokens through the MLP's projections (weights stored [N, K]).
    ...[1, 8, 16].flatMap((m) =>
      [
        [14336, 4096],
        [4096, 14336],
      ].map(([n, k]) => ({ label: `m=${m},n=${n},k=${k},transB`, options: { transB: true }, make: (d: FloatDType, s: number) => makeInputs({ m, n, k, transB: true }, d, s) })),
    ),
  ],
  cost(i, o) {
    const a = i.a!;
    const d = gemmDims(a.shape, i.b!.shape, o.transA, o.transB);
    const e = BYTES[a.dtype];
    const ey = BYTES[o.outDtype ?? a.dtype];
    const aBytes = (d.aStride ? d.batch : 1) * d.m * d.k * e;
    const bBytes = (d.bStride ? d.batch : 1) * d.k * d.n * e;
    const yBytes = d.batch * d.m * d.n * ey;
    return {
      flops: 2 * d.batch * d.m * d.n * d.k,
      bytes: aBytes + bBytes + yBytes * (i.c ? 2 : 1) + (i.bias ? d.n * ey : 0),
    };
  },
  fuzz: gemmFuzz,
});
