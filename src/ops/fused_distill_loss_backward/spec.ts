import { BYTES, FLOAT_DTYPES } from '../../dtype.js';
import { expectShape, required, rowsCols } from '../check.js';
import { boundsOf } from '../tolerance.js';
import { defineOp } from '../types.js';
import { DISTILL_BACKWARD_BENCH, DISTILL_BACKWARD_CASES } from '../fused_distill_loss/cases.js';
import { distillBackwardFuzz } from '../fused_distill_loss/fuzz.js';
import type { DistillOpts } from '../fused_distill_loss/reference.js';
import { checkLogitsPair, fusedDistillLossOptions } from '../fused_distill_loss/spec.js';
import { distillBackward } from './reference.js';

const OP = 'fused_distill_loss_backward';

export const fusedDistillLossBackward = defineOp({
  name: OP,
  summary: 'Gradient of fused_distill_loss w.r.t. the student logits (the teacher is frozen), from the forward\'s lse: one row per workgroup, a row reduction first for reverse KL and JS.',
  inputs: [
    { name: 'student', doc: '[T, V] or [B, S, V] logits' },
    { name: 'teacher', doc: 'shape and dtype of student' },
    { name: 'studentLse', doc: 'f32 [rows] from the forward' },
    { name: 'teacherLse', doc: 'f32 [rows] from the forward' },
    { name: 'dloss', doc: 'f32: [1] for mean/sum, [rows] for none' },
  ],
  outputs: [{ name: 'dstudent', doc: 'shape and dtype of student' }],
  options: fusedDistillLossOptions,
  dtypes: FLOAT_DTYPES,
  check(i, o) {
    const { s, rows } = checkLogitsPair(OP, i);
    expectShape(OP, 'studentLse', required(OP, 'studentLse', i.studentLse), [rows], 'f32');
    expectShape(OP, 'teacherLse', required(OP, 'teacherLse', i.teacherLse), [rows], 'f32');
    expectShape(OP, 'dloss', required(OP, 'dloss', i.dloss), o.reduction === 'none' ? [rows] : [1], 'f32');
    return { dstudent: { dtype: s.dtype, shape: s.shape } };
  },
  reference(i, o) {
    const b = distillBackward(i.student!, i.teacher!, i.studentLse!, i.teacherLse!, i.dloss!, o as DistillOpts);
    return { dstudent: { dtype: i.student!.dtype, shape: i.student!.shape, data: b.dz } };
  },
  bounds(i, o, ref) {
    // Derived in reference.ts (distillBackward): each element's log-probabilities, exps,
    // the row reduction of reverse KL / JS, the upstream scale; then the rounding to the dtype.
    const b = distillBackward(i.student!, i.teacher!, i.studentLse!, i.teacherLse!, i.dloss!, o as DistillOpts);
    return { dstudent: boundsOf(i.student!.dtype, ref.dstudent!.data, (k) => b.err[k]) };
  },
  cases: DISTILL_BACKWARD_CASES,
  bench: DISTILL_BACKWARD_BENCH,
  cost(i) {
    const [rows, v] = rowsCols(i.student!.shape);
    const e = BYTES[i.student!.dtype];
    return { flops: 10 * rows * v, bytes: 3 * rows * v * e + 12 * rows };
  },
  gradCheck: {
    forward: 'fused_distill_loss',
    grads: { student: 'dstudent' },
    upstream: { loss: 'dloss' },
    backwardInputs: (fin, fout, up) => ({ student: fin.student, teacher: fin.teacher, studentLse: fout.studentLse, teacherLse: fout.teacherLse, dloss: up.loss }),
  },
  fuzz: distillBackwardFuzz,
});

