// gemm_sgmat_vec.wgsl, epilogue of strip I: each accumulator cIj through the staging area
// to y (flush); under LORA_EPI plus the rank-r term's block (gemm_sgmat_lora_frag.wgsl).
// (I=0..3)
#if LORA_EPI
#include "gemm/gemm_sgmat_lora_frag.wgsl" (I=I, J=0)
#else
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##0, 16u);
#endif
flush(sg, lane, sg_size, m0 + wr + I * 16u, n0 + wc, ybz);
#if LORA_EPI
#include "gemm/gemm_sgmat_lora_frag.wgsl" (I=I, J=1)
#else
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##1, 16u);
#endif
flush(sg, lane, sg_size, m0 + wr + I * 16u, n0 + wc + 16u, ybz);
#if WIDE_N
#if LORA_EPI
#include "gemm/gemm_sgmat_lora_frag.wgsl" (I=I, J=2)
#else
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##2, 16u);
#endif
flush(sg, lane, sg_size, m0 + wr + I * 16u, n0 + wc + 32u, ybz);
#if LORA_EPI
#include "gemm/gemm_sgmat_lora_frag.wgsl" (I=I, J=3)
#else
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##3, 16u);
#endif
flush(sg, lane, sg_size, m0 + wr + I * 16u, n0 + wc + 48u, ybz);
#endif
