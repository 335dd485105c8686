// gemm_sgmat_vec.wgsl's epilogue of strip I under GU: each gate accumulator (cI0, and cI1
// with WIDE_N) and the up accumulator of the same h columns (cI2, cI3; cI1 when narrow) go
// through the two staging areas to h (flush_gu). (I=0..3)
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##0, 16u);
#if WIDE_N
subgroupMatrixStore<row_major>(&stage2, sg * 256u, c##I##2, 16u);
#else
subgroupMatrixStore<row_major>(&stage2, sg * 256u, c##I##1, 16u);
#endif
flush_gu(sg, lane, sg_size, m0 + wr + I * 16u, n0h + wch, ybz);
#if WIDE_N
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##1, 16u);
subgroupMatrixStore<row_major>(&stage2, sg * 256u, c##I##3, 16u);
flush_gu(sg, lane, sg_size, m0 + wr + I * 16u, n0h + wch + 16u, ybz);
#endif
