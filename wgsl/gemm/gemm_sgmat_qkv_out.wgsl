// gemm_sgmat_vec.wgsl's epilogue of strip I under QKV: each accumulator cIj through the
// staging area to the tile's output (flush_qkv), columns relative to its weight's first. (I=0..3)
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##0, 16u);
flush_qkv(sg, lane, sg_size, m0 + wr + I * 16u, n0 - s0 + wc, seg, sn);
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##1, 16u);
flush_qkv(sg, lane, sg_size, m0 + wr + I * 16u, n0 - s0 + wc + 16u, seg, sn);
#if WIDE_N
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##2, 16u);
flush_qkv(sg, lane, sg_size, m0 + wr + I * 16u, n0 - s0 + wc + 32u, seg, sn);
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##3, 16u);
flush_qkv(sg, lane, sg_size, m0 + wr + I * 16u, n0 - s0 + wc + 48u, seg, sn);
#endif
