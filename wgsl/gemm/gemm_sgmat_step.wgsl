// gemm_sgmat_vec.wgsl, the 16-deep step at depth KS (a literal) of the slice staged in
// buffer BUF (a literal): this subgroup's right fragments, then each 16-row strip's left
// fragment times them (gemm_sgmat_row.wgsl).
// Every offset is an expression of literals and sg = subgroup_id % 8, so Dawn's
// robustness transform proves it in range and emits the bare subgroupMatrixLoad (an
// offset it cannot bound gets a branch and a temporary around each load).
{
#if TRANS_B
  let bo = BUF##u * B_SZ + (sg % 4u) * WN * LDB + KS##u;
  const bstep = 16u * LDB;
#else
  let bo = BUF##u * B_SZ + KS##u * LDB + (sg % 4u) * WN;
  const bstep = 16u;
#endif
  let r0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, bo, LDB);
  let r1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, bo + bstep, LDB);
#if WIDE_N
  let r2 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, bo + 2u * bstep, LDB);
  let r3 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, bo + 3u * bstep, LDB);
#endif
#if TRANS_A
  let ao = BUF##u * A_SZ + KS##u * LDA + (sg / 4u) * 64u;
  const astep = 16u;
#else
  let ao = BUF##u * A_SZ + (sg / 4u) * 64u * LDA + KS##u;
  const astep = 16u * LDA;
#endif
#include "gemm/gemm_sgmat_row.wgsl" (I=0)
#include "gemm/gemm_sgmat_row.wgsl" (I=1)
#include "gemm/gemm_sgmat_row.wgsl" (I=2)
#include "gemm/gemm_sgmat_row.wgsl" (I=3)
}
