import { z } from 'zod';
import type { DType, FloatDType } from '../../dtype.js';
import { OptionsError, ShapeError } from '../../errors.js';
import { expectRank, expectShape, fmt, required } from '../check.js';
import { dequantRef } from '../quant/dequant.js';
import { QUANT_FORMATS, checkQuantWeight, type QuantDims, type QuantOptions } from '../quant/formats.js';
import { toDtype } from '../tolerance.js';
import type { RefTensor, TensorInfo } from '../types.js';

/**
 * QLoRA: the LoRA ops take the frozen base weight either dense (`weight` [N, K], the dtype of
 * x) or quantized (`w` + MLX `scales`/`biases`, with the `format`/`groupSize` options of
 * quantized_gemm, checked by the same checkQuantWeight). One op rather than two: the
 * adapters, dropout, saved xa and gradients are the same whatever holds W, so a second
 * pair of ops would repeat every check, case and bound; the only branch is where W comes
 * from (here, and one line in each launcher).
 *
 * The kernels dequantize W once per call into the dtype of x (the dequantize launcher, i.e.
 * quant/decode.wgsl and msl/quant/decode.h) and run the dense gemm launches on it: QLoRA is
 * training, where T of hundreds to thousands of tokens makes the N·K dequantization a 1/T
 * share of the work, and the products run on the dense gemm's fastest tier (subgroup-matrix,
 * metal4). The price is an N·K temporary in the dtype, and W rounded to that dtype (in the
 * bounds). Inference with unmerged adapters at T ≤ 16 would rather stream W through
 * quantized_gemm's decode kernel: not done (it needs an epilogue adding t and the bias).
 */
export const loraQuantOptions = {
  /** The quantized format of `w` (absent: W is the dense `weight`). */
  format: z.enum(QUANT_FORMATS).optional(),
  /** MLX formats: the group size (default 64, as MLX). */
  groupSize: z.union([z.literal(32), z.literal(64), z.literal(128)]).optional(),
};

export interface LoraWeightOpts {
  format?: QuantOptions['format'];
  groupSize?: QuantOptions['groupSize'];
}

interface WeightInputs {
  weight?: TensorInfo;
  w?: TensorInfo;
  scales?: TensorInfo;
  biases?: TensorInfo;
}

/** W's N, and its quantized layout when `format` is given; K comes from x, W's dtype must be `dtype` when dense. */
export function checkLoraWeight(op: string, i: WeightInputs, o: LoraWeightOpts, k: number, dtype: DType): { n: number; quant?: QuantDims } {
  if (o.format) {
    if (i.weight) throw new ShapeError(`[${op}] weight: format ${o.format} takes the base weight quantized as w${o.format.startsWith('mlx') ? ' (+ scales, biases)' : ''}; expected no dense weight, got ${fmt(i.weight)}`);
    const quant = checkQuantWeight(op, i, { format: o.format, groupSize: o.groupSize }, k);
    return { n: quant.n, quant };
  }
  for (const name of ['w', 'scales', 'biases'] as const) {
    const t = i[name];
    if (t) throw new OptionsError(`[${op}] format: expected a quantized format (${QUANT_FORMATS.join(' | ')}) for the packed ${name}, got none (${name} ${fmt(t)})`);
  }
  if (o.groupSize !== undefined) throw new OptionsError(`[${op}] groupSize: only a quantized weight (format mlx4 | mlx8) has a group size, got ${o.groupSize} without a format`);
  const w = required(op, 'weight', i.weight);
  expectRank(op, 'weight', w, [2], `[N, ${k}]`);
  expectShape(op, 'weight', w, [w.shape[0], k], dtype);
  return { n: w.shape[0] };
}

/** The packed weight's rows (N) whichever input holds W, for the launchers and cost models. */
export const weightRows = (i: WeightInputs): TensorInfo => (i.weight ?? i.w)!;

/**
 * The dense W [N, K] the reference multiplies by (exact: dequantRef) and, for a quantized
 * W, per element the bound of |W' − W| for the W' the kernels use — the f32 dequantization
 * (dequantRef's error) rounded to the dtype of x by the dequantize kernel (toDtype: u·|W|,
 * a subnormal step, a flush to zero below the dtype's normal range). A dense W is used
 * as given: no error.
 */
export function loraWeightRef(op: string, i: { x?: RefTensor; weight?: RefTensor; w?: RefTensor; scales?: RefTensor; biases?: RefTensor }, o: LoraWeightOpts): { weight: RefTensor; err?: Float64Array } {
  const x = required(op, 'x', i.x);
  const k = x.shape[x.shape.length - 1];
  const { n, quant } = checkLoraWeight(op, i, o, k, x.dtype);
  if (!quant) return { weight: i.weight! };
  const deq = dequantRef(quant, i.w!, i.scales, i.biases);
  const dt = x.dtype as FloatDType;
  const err = deq.w.map((v, q) => toDtype(dt, v, deq.err[q]));
  return { weight: { dtype: x.dtype, shape: [n, k], data: deq.w }, err };
}
