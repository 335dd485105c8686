// gemm ceiling: the 16 multiply-accumulates of a 64×64 block, fragments l0..l3 × r0..r3.
c0 = subgroupMatrixMultiplyAccumulate(l0, r0, c0);
c1 = subgroupMatrixMultiplyAccumulate(l0, r1, c1);
c2 = subgroupMatrixMultiplyAccumulate(l0, r2, c2);
c3 = subgroupMatrixMultiplyAccumulate(l0, r3, c3);
c4 = subgroupMatrixMultiplyAccumulate(l1, r0, c4);
c5 = subgroupMatrixMultiplyAccumulate(l1, r1, c5);
c6 = subgroupMatrixMultiplyAccumulate(l1, r2, c6);
c7 = subgroupMatrixMultiplyAccumulate(l1, r3, c7);
c8 = subgroupMatrixMultiplyAccumulate(l2, r0, c8);
c9 = subgroupMatrixMultiplyAccumulate(l2, r1, c9);
c10 = subgroupMatrixMultiplyAccumulate(l2, r2, c10);
c11 = subgroupMatrixMultiplyAccumulate(l2, r3, c11);
c12 = subgroupMatrixMultiplyAccumulate(l3, r0, c12);
c13 = subgroupMatrixMultiplyAccumulate(l3, r1, c13);
c14 = subgroupMatrixMultiplyAccumulate(l3, r2, c14);
c15 = subgroupMatrixMultiplyAccumulate(l3, r3, c15);
