// gemm_sgmat_vec.wgsl, inner step for the subgroup's 16-row strip I: its left fragment
// times the right fragments r0.. of this 16-deep step, into accumulators cI0... (I=0..3;
// A_SRC: As or a, abuf: the offset a_off is relative to)
{
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&A_SRC, abuf + a_off(wr + I * 16u, ks), LDA);
  c##I##0 = subgroupMatrixMultiplyAccumulate(l, r0, c##I##0);
  c##I##1 = subgroupMatrixMultiplyAccumulate(l, r1, c##I##1);
#if WIDE_N
  c##I##2 = subgroupMatrixMultiplyAccumulate(l, r2, c##I##2);
  c##I##3 = subgroupMatrixMultiplyAccumulate(l, r3, c##I##3);
#endif
}
