import { z } from 'zod';
import { BYTES, FLOAT_DTYPES, type FloatDType } from '../../dtype.js';
import { boundsOf } from '../tolerance.js';
import { defineOp } from '../types.js';
import { checkQuantWeight, quantBytes, quantOptionFields, type QuantDims, type QuantOptions } from '../quant/formats.js';
import { dequantRef } from '../quant/dequant.js';
import { DEQUANTIZE_BENCH, DEQUANTIZE_CASES } from './cases.js';
import { dequantizeFuzz } from './fuzz.js';

export const dequantizeOptions = z
  .object({
    ...quantOptionFields,
    /** Output dtype; default: the dtype of scales (MLX, as mx.dequantize), f32 for GGUF (as dequantize_row_*). */
    outDtype: z.enum(['f32', 'f16', 'bf16']).optional(),
  })
  .strict();
export type DequantizeOptions = z.input<typeof dequantizeOptions>;
type Opts = z.output<typeof dequantizeOptions>;

const OP = 'dequantize';

export const outDtypeOf = (d: QuantDims, o: { outDtype?: FloatDType }): FloatDType => o.outDtype ?? d.scaleDtype ?? 'f32';

export const dequantize = defineOp({
  name: OP,
  summary:
    'A quantized weight W [N, K] back to floats: MLX affine 4/8-bit (groups of 32/64/128, f16/bf16/f32 scales and biases) or GGUF Q4_0/Q8_0/Q4_K/Q6_K blocks, bit layouts as MLX and llama.cpp write them. ' +
    'f32 results are what llama.cpp dequantize_row_* / MLX compute in f32 (exact for Q4_0, Q8_0, Q6_K; one rounding for Q4_K and MLX), then one rounding to outDtype.',
  // scales first: a backend routes on the first input's dtype (a float one; GGUF has none, so f32).
  inputs: [
    { name: 'scales', optional: true, doc: 'MLX only: [N, K/groupSize] f16/bf16/f32' },
    { name: 'biases', optional: true, doc: 'MLX only: [N, K/groupSize], the dtype of scales' },
    { name: 'w', doc: 'MLX: u32 [N, K·bits/32]; GGUF: u8 [N, (K/blockK)·blockBytes] (the blocks as in the file)' },
  ],
  outputs: [{ name: 'y', doc: '[N, K] in outDtype' }],
  options: dequantizeOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o: Opts) {
    const d = checkQuantWeight(OP, i, o as QuantOptions);
    return { y: { dtype: outDtypeOf(d, o), shape: [d.n, d.k] } };
  },
  reference(i, o: Opts) {
    const d = checkQuantWeight(OP, i, o as QuantOptions);
    return { y: { dtype: outDtypeOf(d, o), shape: [d.n, d.k], data: dequantRef(d, i.w!, i.scales, i.biases).w } };
  },
  bounds(i, o: Opts, ref) {
    // The f32 dequantization's error (dequantRef: 0 for Q4_0/Q8_0/Q6_K, one f32 rounding for
    // Q4_K and MLX, two for MLX with f32 scales), then the rounding to outDtype (toDtype).
    const d = checkQuantWeight(OP, i, o as QuantOptions);
    const { err } = dequantRef(d, i.w!, i.scales, i.biases);
    return { y: boundsOf(ref.y!.dtype, ref.y!.data, (j) => err[j]) };
  },
  cases: DEQUANTIZE_CASES,
  bench: DEQUANTIZE_BENCH,
  cost(i, o: Opts) {
    const d = checkQuantWeight(OP, i, o as QuantOptions);
    return { flops: 2 * d.n * d.k, bytes: quantBytes(d) + d.n * d.k * BYTES[outDtypeOf(d, o)] };
  },
  fuzz: dequantizeFuzz,
});
