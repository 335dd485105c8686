import { z } from 'zod';
import { BYTES, FLOAT_DTYPES, type FloatDType } from '../../dtype.js';
import { expectDtype, expectRank, required, rowsCols } from '../check.js';
import { boundsOf, gamma } from '../tolerance.js';
import { defineOp, type TensorInfo } from '../types.js';
import { checkQuantWeight, quantBytes, quantOptionFields, type QuantOptions } from '../quant/formats.js';
import { QGEMM_BENCH, QGEMM_CASES } from './cases.js';
import { quantizedGemmFuzz } from './fuzz.js';
import { quantizedGemmRef } from './reference.js';

export const quantizedGemmOptions = z
  .object({
    ...quantOptionFields,
    /** Output dtype; default: the dtype of x. */
    outDtype: z.enum(['f32', 'f16', 'bf16']).optional(),
  })
  .strict();
export type QuantizedGemmOptions = z.input<typeof quantizedGemmOptions>;

const OP = 'quantized_gemm';

function dims(i: { x?: TensorInfo; w?: TensorInfo; scales?: TensorInfo; biases?: TensorInfo }, o: QuantOptions) {
  const x = required(OP, 'x', i.x);
  expectRank(OP, 'x', x, [2, 3], '[M, K] or [B, S, K]');
  expectDtype(OP, 'x', x, FLOAT_DTYPES);
  const [m, k] = rowsCols(x.shape);
  return { x, m, d: checkQuantWeight(OP, i, o, k) };
}

export const quantizedGemm = defineOp({
  name: OP,
  summary:
    'y = x·dequant(W)ᵀ with W [N, K] quantized (MLX affine 4/8-bit or GGUF Q4_0/Q8_0/Q4_K/Q6_K, as dequantize), f32 accumulation: ' +
    'a decode kernel for M ≤ 16 (W streamed once) and a tiled prefill kernel (W tiles dequantized into workgroup memory).',
  inputs: [
    { name: 'x', doc: '[M, K] or [B, S, K], f32/f16/bf16' },
    { name: 'w', doc: 'W [N, K] packed: MLX u32 [N, K·bits/32]; GGUF u8 [N, (K/blockK)·blockBytes]' },
    { name: 'scales', optional: true, doc: 'MLX only: [N, K/groupSize] f16/bf16/f32' },
    { name: 'biases', optional: true, doc: 'MLX only: [N, K/groupSize], the dtype of scales' },
  ],
  outputs: [{ name: 'y', doc: '[M, N] (or [B, S, N]) in outDtype (default: the dtype of x)' }],
  options: quantizedGemmOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const { x, d } = dims(i, o as QuantOptions);
    return { y: { dtype: o.outDtype ?? (x.dtype as FloatDType), shape: [...x.shape.slice(0, -1), d.n] } };
  },
  reference(i, o) {
    const { x, d } = dims(i, o as QuantOptions);
    const r = quantizedGemmRef(i.x!, d, i.w!, i.scales, i.biases);
    return { y: { dtype: o.outDtype ?? (x.dtype as FloatDType), shape: [...x.shape.slice(0, -1), d.n], data: r.y } };
  },
  bounds(i, o, ref) {
    // The kernels dequantize each weight to f32 (ŵ within e_k of W: 0 for Q4_0/Q8_0/Q6_K,
    // u·|W| for Q4_K and MLX with 16-bit scales, u·|s·q|·(1+u) + u·|W| with f32 scales; see
    // quant/dequant.ts) and accumulate Σ_k x_k·ŵ_k in f32 in any order (fma or not; the x·ŵ
    // products round too: x has 24, ŵ up to 24 significant bits): γ_K·Σ|x_k·ŵ_k|. So
    //   |ŷ − y| ≤ γ_K·Σ|x_k|·(|W_k| + e_k) + Σ|x_k|·e_k = γ_K·S + E,
    // then one rounding to the output dtype (toDtype).
    // f16 x may run on the subgroup-matrix tier (qgemm_sgmat.wgsl), which stages ŵ rounded
    // to f16 (exact RNE: ŵ's error becomes toDtype('f16', W, e_k), a flush included) and
    // accumulates in the matrix units, whose f32 adds truncate (γ_2K, as gemm's f16 bound).
    const { x, d } = dims(i, o as QuantOptions);
    const f16 = x.dtype === 'f16';
    const r = quantizedGemmRef(i.x!, d, i.w!, i.scales, i.biases, true, f16 ? 'f16' : undefined);
    const g = gamma(f16 ? 2 * r.k : r.k);
    return { y: boundsOf(ref.y!.dtype, ref.y!.data, (j) => g * r.S![j] + r.E![j]) };
  },
  cases: QGEMM_CASES,
  bench: QGEMM_BENCH,
  cost(i, o) {
    const { x, m, d } = dims(i, o as QuantOptions);
    // W once (the decode kernel reads it once; the prefill kernel once per row tile, from cache), x and y once.
    return { flops: 2 * m * d.n * d.k, bytes: quantBytes(d) + m * d.k * BYTES[x.dtype] + m * d.n * BYTES[o.outDtype ?? x.dtype] };
  },
  fuzz: quantizedGemmFuzz,
});
