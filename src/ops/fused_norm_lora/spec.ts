import { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { expectIndexable, expectNonEmptyAxis, expectShape, positiveNormalF32, required } from '../check.js';
import { loraDims } from '../fused_lora_forward/reference.js';
import { checkLora, loraCommonOptions } from '../fused_lora_forward/spec.js';
import { boundsOf } from '../tolerance.js';
import { defineOp, type TensorInfo } from '../types.js';
import { NORM_LORA_BENCH, NORM_LORA_CASES } from './cases.js';
import { normLoraForwardFuzz } from './fuzz.js';
import { normLoraForwardErrors, normLoraForwardRef, type NormLoraInputs, type NormLoraOpts } from './reference.js';

/** RMSNorm's eps and fused_lora_forward's alpha / dropout / seed (the dropout acts on the normalised activations). */
export const fusedNormLoraOptions = z.object({ eps: positiveNormalF32().default(1e-6), ...loraCommonOptions }).strict();
export type FusedNormLoraOptions = z.input<typeof fusedNormLoraOptions>;

/** fused_lora's checks plus gamma [K] of x's dtype and a non-empty K (a mean over zero squares is 0/0). */
export function checkNormLora(op: string, i: { x?: TensorInfo; gamma?: TensorInfo; weight?: TensorInfo; loraA?: TensorInfo; loraB?: TensorInfo }) {
  // Dense W only: the quantized (QLoRA) weight is fused_lora's, not offered here yet.
  // K = 0 is named as the norm's axis first (fused_lora's own check names the input features).
  const x = required(op, 'x', i.x);
  if (x.shape.length >= 1) expectNonEmptyAxis(op, 'x', x, -1, 'the normalized dimension K');
  const c = checkLora(op, i, {});
  expectShape(op, 'gamma', required(op, 'gamma', i.gamma), [c.k], c.x.dtype);
  for (const [name, t] of Object.entries(i)) if (t) expectIndexable(op, name, t);
  return c;
}

const OP = 'fused_norm_lora';

/**
 * The name pair follows rms_norm / rms_norm_backward and rope / rope_backward (the op under
 * its plain name, its gradient with `_backward`): `fused_norm_lora` is the name the
 * KernelBackend trait and PLANNED_OPS give the forward; fused_lora_forward's `_forward`
 * suffix is that op's own trait name.
 */
export const fusedNormLora = defineOp({
  name: OP,
  summary:
    'RMSNorm then LoRA linear, the normalised activations never stored: rstd = (mean(x²) + eps)^-½ per row (saved, f32), n = x·rstd·γ, y = n·Wᵀ (+ bias) + s·(drop(n)·Aᵀ)·Bᵀ with W frozen, s = alpha/r; returns y, rstd and xa = drop(n)·Aᵀ (f32). One row pass for rstd, then gemms that normalise their A tile as they load it.',
  inputs: [
    { name: 'x', doc: '[..., K] f32/f16/bf16' },
    { name: 'gamma', doc: '[K], the RMSNorm weight (dtype of x)' },
    { name: 'weight', doc: '[N, K], the frozen base weight' },
    { name: 'loraA', doc: '[r, K]' },
    { name: 'loraB', doc: '[N, r]' },
    { name: 'bias', optional: true, doc: '[N]' },
  ],
  outputs: [
    { name: 'y', doc: '[..., N], dtype of x' },
    { name: 'rstd', doc: 'f32 [...]: the per-row statistic, saved for the backward' },
    { name: 'xa', doc: 'f32 [..., r]: drop(n)·Aᵀ, saved for the backward' },
  ],
  options: fusedNormLoraOptions,
  dtypes: FLOAT_DTYPES,
  check(i) {
    const { x, n, r, lead } = checkNormLora(OP, i);
    if (i.bias) expectShape(OP, 'bias', i.bias, [n], x.dtype);
    return { y: { dtype: x.dtype, shape: [...lead, n] }, rstd: { dtype: 'f32', shape: lead }, xa: { dtype: 'f32', shape: [...lead, r] } };
  },
  reference(i, o) {
    const f = normLoraForwardRef(i as NormLoraInputs, o as NormLoraOpts);
    const { n, r } = f.dims;
    const lead = i.x!.shape.slice(0, -1);
    return {
      y: { dtype: i.x!.dtype, shape: [...lead, n], data: f.y },
      rstd: { dtype: 'f32', shape: lead, data: f.rstd },
      xa: { dtype: 'f32', shape: [...lead, r], data: f.xa },
    };
  },
  bounds(i, o, ref) {
    // Derived in reference.ts: fused_lora_forward's bound on the normalised n, with the
    // error of n as the kernels form it (rstd's, two f32 roundings, the dtype staging)
    // carried through each product; rstd's as rms_norm's.
    const e = normLoraForwardErrors(i as NormLoraInputs, o as NormLoraOpts);
    return {
      y: boundsOf(i.x!.dtype, ref.y!.data, (q) => e.eY[q]),
      rstd: boundsOf('f32', ref.rstd!.data, (q) => e.eRstd[q]),
      xa: boundsOf('f32', ref.xa!.data, (q) => e.eXa[q]),
    };
  },
  cases: NORM_LORA_CASES,
  bench: NORM_LORA_BENCH,
  cost(i) {
    const { k, t, r, n } = loraDims(i.x!, i.loraA!, i.weight!);
    const e = BYTES[i.x!.dtype];
    // Bytes that must move at least once (n stays on chip); flops: the three products and the norm.
    return {
      flops: 2 * t * n * k + 2 * t * r * k + 2 * t * n * r + 4 * t * k,
      bytes: e * (t * k + k + n * k + r * k + n * r + t * n + (i.bias ? n : 0)) + 4 * (t * r + t),
    };
  },
  fuzz: normLoraForwardFuzz,
});
