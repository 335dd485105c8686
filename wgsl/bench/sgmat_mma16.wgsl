// gemm ceiling, STAGE 0: the 16 multiply-accumulates of a subgroup's 64×64 block on the
// fragments l0..l3 × r0..r3 (loaded once), into gemm_sgmat_vec's accumulators cIJ.
c00 = subgroupMatrixMultiplyAccumulate(l0, r0, c00);
c01 = subgroupMatrixMultiplyAccumulate(l0, r1, c01);
c02 = subgroupMatrixMultiplyAccumulate(l0, r2, c02);
c03 = subgroupMatrixMultiplyAccumulate(l0, r3, c03);
c10 = subgroupMatrixMultiplyAccumulate(l1, r0, c10);
c11 = subgroupMatrixMultiplyAccumulate(l1, r1, c11);
c12 = subgroupMatrixMultiplyAccumulate(l1, r2, c12);
c13 = subgroupMatrixMultiplyAccumulate(l1, r3, c13);
c20 = subgroupMatrixMultiplyAccumulate(l2, r0, c20);
c21 = subgroupMatrixMultiplyAccumulate(l2, r1, c21);
c22 = subgroupMatrixMultiplyAccumulate(l2, r2, c22);
c23 = subgroupMatrixMultiplyAccumulate(l2, r3, c23);
c30 = subgroupMatrixMultiplyAccumulate(l3, r0, c30);
c31 = subgroupMatrixMultiplyAccumulate(l3, r1, c31);
c32 = subgroupMatrixMultiplyAccumulate(l3, r2, c32);
c33 = subgroupMatrixMultiplyAccumulate(l3, r3, c33);
