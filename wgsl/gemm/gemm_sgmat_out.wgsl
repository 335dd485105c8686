// gemm_sgmat_vec.wgsl, epilogue of strip I: each accumulator cIj through the staging area
// to y (flush). (I=0..3)
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##0, 16u);
flush(sg, lane, sg_size, m0 + wr + I * 16u, n0 + wc, ybz);
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##1, 16u);
flush(sg, lane, sg_size, m0 + wr + I * 16u, n0 + wc + 16u, ybz);
#if WIDE_N
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##2, 16u);
flush(sg, lane, sg_size, m0 + wr + I * 16u, n0 + wc + 32u, ybz);
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##3, 16u);
flush(sg, lane, sg_size, m0 + wr + I * 16u, n0 + wc + 48u, ybz);
#endif
