import { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { ShapeError } from '../../errors.js';
import { expectShape, fmt, required } from '../check.js';
import { boundsOf } from '../tolerance.js';
import { defineOp } from '../types.js';
import { LORA_BACKWARD_BENCH, LORA_BACKWARD_CASES } from '../fused_lora_forward/cases.js';
import { loraDims, type LoraOpts } from '../fused_lora_forward/reference.js';
import { checkLora, loraCommonOptions, weightBytes } from '../fused_lora_forward/spec.js';
import { loraWeightRef, weightRows } from '../fused_lora_forward/qweight.js';
import { loraBackwardFuzz } from '../fused_lora_forward/fuzz.js';
import { loraBackwardErrors, loraBackwardRef, type LoraBackwardInputs } from './reference.js';

/** The forward's options (the same alpha, dropout and seed regenerate its mask) and `accumulate`: add into dAIn / dBIn. */
export const fusedLoraBackwardOptions = z.object({ ...loraCommonOptions, accumulate: z.boolean().default(false) }).strict();
export type FusedLoraBackwardOptions = z.input<typeof fusedLoraBackwardOptions>;

const OP = 'fused_lora_backward';

const pick = <T>(r: Record<string, T>, names: string[]): Record<string, T> => Object.fromEntries(names.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));

export const fusedLoraBackward = defineOp({
  name: OP,
  summary:
    'Gradients of fused_lora_forward (W frozen, dense or quantized — QLoRA, dequantized once into the dtype of x): dx = dy·W + s·((dy·B)·A) ⊙ mask/(1−p), dA = s·(dy·B)ᵀ·drop(x), dB = s·dyᵀ·xa, in f32 for dA/dB; the dropout mask is regenerated from the seed; `accumulate` adds into dAIn/dBIn. Composed from gemm launches.',
  inputs: [
    { name: 'dy', doc: '[..., N] upstream gradient, dtype of x' },
    { name: 'x', doc: '[..., K], the forward input' },
    { name: 'weight', optional: true, doc: '[N, K]; or, with format, w (+ scales, biases) as fused_lora_forward takes them' },
    { name: 'w', optional: true, doc: 'with format: W [N, K] packed (MLX u32, GGUF u8 blocks)' },
    { name: 'scales', optional: true, doc: 'MLX formats: [N, K/groupSize] f16/bf16/f32' },
    { name: 'biases', optional: true, doc: 'MLX formats: [N, K/groupSize], the dtype of scales' },
    { name: 'loraA', doc: '[r, K]' },
    { name: 'loraB', doc: '[N, r]' },
    { name: 'xa', doc: 'f32 [..., r], the forward output xa' },
    { name: 'dAIn', optional: true, doc: 'f32 [r, K]: with accumulate' },
    { name: 'dBIn', optional: true, doc: 'f32 [N, r]: with accumulate' },
  ],
  outputs: [
    { name: 'dx', doc: 'shape and dtype of x' },
    { name: 'dA', doc: 'f32 [r, K]' },
    { name: 'dB', doc: 'f32 [N, r]' },
  ],
  options: fusedLoraBackwardOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const dy = required(OP, 'dy', i.dy);
    const { x, k, n, r, lead } = checkLora(OP, i, o);
    expectShape(OP, 'dy', dy, [...lead, n], x.dtype);
    expectShape(OP, 'xa', required(OP, 'xa', i.xa), [...lead, r], 'f32');
    for (const [name, t, shape] of [
      ['dAIn', i.dAIn, [r, k]],
      ['dBIn', i.dBIn, [n, r]],
    ] as const) {
      if (o.accumulate) expectShape(OP, name, required(OP, name, t), shape, 'f32');
      else if (t) throw new ShapeError(`[${OP}] ${name}: given without accumulate (it would be ignored); expected none, got ${fmt(t)}`);
    }
    return { dx: { dtype: x.dtype, shape: x.shape }, dA: { dtype: 'f32', shape: [r, k] }, dB: { dtype: 'f32', shape: [n, r] } };
  },
  // No tokens: dx is empty; dA and dB sum over none (0), added to dAIn/dBIn with accumulate.
  emptyResult(i, o) {
    if (!i.x!.shape.slice(0, -1).includes(0)) return undefined;
    return o.accumulate ? { dA: { input: 'dAIn' }, dB: { input: 'dBIn' } } : { dA: 0, dB: 0 };
  },
  reference(i, o) {
    const b = loraBackwardRef({ ...i, weight: loraWeightRef(OP, i, o).weight } as LoraBackwardInputs, o as LoraOpts);
    const { k, n, r } = b.dims;
    return { dx: { dtype: i.x!.dtype, shape: i.x!.shape, data: b.dx }, dA: { dtype: 'f32', shape: [r, k], data: b.dA }, dB: { dtype: 'f32', shape: [n, r], data: b.dB } };
  },
  bounds(i, o, ref) {
    // Derived in reference.ts (loraBackwardErrors): gemm's model for each of the five
    // products and the roundings of xa and dy·B to the dtype between them; a quantized W
    // enters as its dequantized copy in the dtype, within qweight.ts's bound of W.
    const w = loraWeightRef(OP, i, o);
    const e = loraBackwardErrors({ ...i, weight: w.weight } as LoraBackwardInputs, o as LoraOpts, w.err);
    return {
      dx: boundsOf(i.x!.dtype, ref.dx!.data, (q) => e.eDX[q]),
      dA: boundsOf('f32', ref.dA!.data, (q) => e.eDA[q]),
      dB: boundsOf('f32', ref.dB!.data, (q) => e.eDB[q]),
    };
  },
  cases: LORA_BACKWARD_CASES,
  bench: LORA_BACKWARD_BENCH,
  cost(i, o) {
    const { k, t, r, n } = loraDims(i.x!, i.loraA!, weightRows(i));
    const e = BYTES[i.x!.dtype];
    const acc = i.dAIn ? 2 : 1;
    return {
      flops: 2 * t * n * k + 4 * t * n * r + 4 * t * r * k,
      bytes: weightBytes(OP, i, o, e) + e * (t * n + t * k + r * k + n * r + t * k) + 4 * (t * r + acc * (r * k + n * r)),
    };
  },
  gradCheck: {
    forward: 'fused_lora_forward',
    grads: { x: 'dx', loraA: 'dA', loraB: 'dB' },
    upstream: { y: 'dy' },
    // W as the forward case gives it: dense, or quantized (w, and MLX's scales and biases).
    backwardInputs: (fin, fout, up) => ({ dy: up.y, ...pick(fin, ['x', 'weight', 'w', 'scales', 'biases', 'loraA', 'loraB']), xa: fout.xa }),
  },
  fuzz: loraBackwardFuzz,
});
