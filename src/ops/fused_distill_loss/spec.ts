import { z } from 'zod';
import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { expectDtype, expectNonEmptyAxis, expectRank, expectShape, finite, required, rowsCols } from '../check.js';
import { boundsOf } from '../tolerance.js';
import { defineOp, type TensorInfo } from '../types.js';
import { DISTILL_FORWARD_BENCH, DISTILL_FORWARD_CASES } from './cases.js';
import { distillForward, type DistillOpts } from './reference.js';
import { distillFuzz } from './fuzz.js';

/**
 * loss: with p = softmax(teacher/τ), q = softmax(student/τ), per row and times τ² (Hinton et
 * al.'s scaling, as PMetal's fused_distill): 'kl' KL(p‖q) = Σ p·(log p − log q) (forward KL,
 * PyTorch's kl_div(log q, p)); 'reverse_kl' KL(q‖p); 'js' ½KL(p‖m) + ½KL(q‖m), m = (p+q)/2;
 * 'soft_ce' −Σ p·log q. reduction: 'mean' over the rows (batchmean), 'sum', 'none'.
 */
export const fusedDistillLossOptions = z
  .object({
    loss: z.enum(['kl', 'reverse_kl', 'js', 'soft_ce']).default('kl'),
    temperature: finite().positive().default(1),
    reduction: z.enum(['mean', 'sum', 'none']).default('mean'),
  })
  .strict();
export type FusedDistillLossOptions = z.input<typeof fusedDistillLossOptions>;

/** Student logits [T, V] or [B, S, V] and the teacher's of the same shape and dtype. */
export function checkLogitsPair(op: string, i: { student?: TensorInfo; teacher?: TensorInfo }) {
  const s = required(op, 'student', i.student);
  expectRank(op, 'student', s, [2, 3], '[T, V] or [B, S, V]');
  expectDtype(op, 'student', s, FLOAT_DTYPES);
  expectShape(op, 'teacher', required(op, 'teacher', i.teacher), s.shape, s.dtype);
  // A distribution over no class (logsumexp −Inf): an error naming the axis, as cross_entropy.
  // Zero rows (an empty batch) are fine.
  expectNonEmptyAxis(op, 'student', s, -1, 'the vocabulary V');
  const [rows, v] = rowsCols(s.shape);
  return { s, rows, v };
}

export const fusedDistillLoss = defineOp({
  name: 'fused_distill_loss',
  summary:
    'Knowledge-distillation loss between student and teacher logits at temperature τ (forward KL, reverse KL, Jensen-Shannon or soft cross-entropy, times τ²), streamed over the vocabulary one row per workgroup; also returns both rows\' lse for the backward.',
  inputs: [
    { name: 'student', doc: '[T, V] or [B, S, V] logits, f32/f16/bf16' },
    { name: 'teacher', doc: 'shape and dtype of student' },
  ],
  outputs: [
    { name: 'loss', doc: 'f32: [1] for mean/sum, [rows] for none' },
    { name: 'studentLse', doc: 'f32 [rows]: logsumexp of student/τ (saved for the backward)' },
    { name: 'teacherLse', doc: 'f32 [rows]: logsumexp of teacher/τ' },
  ],
  options: fusedDistillLossOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const { rows } = checkLogitsPair('fused_distill_loss', i);
    return { loss: { dtype: 'f32', shape: o.reduction === 'none' ? [rows] : [1] }, studentLse: { dtype: 'f32', shape: [rows] }, teacherLse: { dtype: 'f32', shape: [rows] } };
  },
  // No rows: 'sum' is 0, 'mean' (batchmean) 0/0 = NaN, as cross_entropy and PyTorch; the rest is empty.
  emptyResult(i, o) {
    return rowsCols(i.student!.shape)[0] === 0 ? { loss: o.reduction === 'mean' ? NaN : 0 } : undefined;
  },
  reference(i, o) {
    const f = distillForward(i.student!, i.teacher!, o as DistillOpts);
    return {
      loss: { dtype: 'f32', shape: [f.loss.length], data: f.loss },
      studentLse: { dtype: 'f32', shape: [f.rows], data: f.lseS },
      teacherLse: { dtype: 'f32', shape: [f.rows], data: f.lseT },
    };
  },
  bounds(i, o, ref) {
    // Derived operation by operation in reference.ts (lseError, rowLogs, distillRow): the
    // kernels' lse (metal's max and Σexp passes, WGSL's online log2-domain pass: the larger
    // bound), the divergence's terms, WGSL's exp/log accuracy, the V-term and T-term sums.
    const f = distillForward(i.student!, i.teacher!, o as DistillOpts);
    return {
      loss: boundsOf('f32', ref.loss!.data, (k) => f.eLoss[k]),
      studentLse: boundsOf('f32', ref.studentLse!.data, (k) => f.eLseS[k]),
      teacherLse: boundsOf('f32', ref.teacherLse!.data, (k) => f.eLseT[k]),
    };
  },
  cases: DISTILL_FORWARD_CASES,
  bench: DISTILL_FORWARD_BENCH,
  cost(i) {
    const [rows, v] = rowsCols(i.student!.shape);
    // Both logit rows read in each of the three passes (max, Σexp, terms); counted once.
    return { flops: 12 * rows * v, bytes: 2 * rows * v * BYTES[i.student!.dtype] + 12 * rows };
  },
  fuzz: distillFuzz,
});
