// gemm_sgmat_step.wgsl, strip I (a literal) of the subgroup's block: its left fragment at
// ao + I·astep times the step's right fragments r0.., into accumulators cI0...
{
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&As, ao + I##u * astep, LDA);
  c##I##0 = subgroupMatrixMultiplyAccumulate(l, r0, c##I##0);
  c##I##1 = subgroupMatrixMultiplyAccumulate(l, r1, c##I##1);
#if WIDE_N
  c##I##2 = subgroupMatrixMultiplyAccumulate(l, r2, c##I##2);
  c##I##3 = subgroupMatrixMultiplyAccumulate(l, r3, c##I##3);
#endif
}
