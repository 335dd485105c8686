// gemm_sgmat_direct.wgsl, one 16-deep step: the 4×2 products of the left fragments l0..l3
// and the right fragments r0, r1 into the accumulators.
c00 = subgroupMatrixMultiplyAccumulate(l0, r0, c00);
c01 = subgroupMatrixMultiplyAccumulate(l0, r1, c01);
c10 = subgroupMatrixMultiplyAccumulate(l1, r0, c10);
c11 = subgroupMatrixMultiplyAccumulate(l1, r1, c11);
c20 = subgroupMatrixMultiplyAccumulate(l2, r0, c20);
c21 = subgroupMatrixMultiplyAccumulate(l2, r1, c21);
c30 = subgroupMatrixMultiplyAccumulate(l3, r0, c30);
c31 = subgroupMatrixMultiplyAccumulate(l3, r1, c31);
