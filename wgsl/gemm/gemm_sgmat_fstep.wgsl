// gemm_sgmat_fixed.wgsl, the 16-deep step at depth KS of subgroup S: gemm_sgmat_step.wgsl
// with a_off/b_off written out as constant expressions (S, KS literals; single buffer).
{
#if TRANS_B
  const bo = (S % 4u) * WN * LDB + KS##u;
  const bstep = 16u * LDB;
#else
  const bo = KS##u * LDB + (S % 4u) * WN;
  const bstep = 16u;
#endif
  let r0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, bo, LDB);
  let r1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, bo + bstep, LDB);
#if WIDE_N
  let r2 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, bo + 2u * bstep, LDB);
  let r3 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, bo + 3u * bstep, LDB);
#endif
#if TRANS_A
  const ao = KS##u * LDA + (S / 4u) * 64u;
  const astep = 16u;
#else
  const ao = (S / 4u) * 64u * LDA + KS##u;
  const astep = 16u * LDA;
#endif
#include "gemm/gemm_sgmat_frow.wgsl" (I=0)
#include "gemm/gemm_sgmat_frow.wgsl" (I=1)
#include "gemm/gemm_sgmat_frow.wgsl" (I=2)
#include "gemm/gemm_sgmat_frow.wgsl" (I=3)
}
