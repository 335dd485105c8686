// gemm_sgmat_vec.wgsl, one 16-deep step at depth ks: the subgroup's right fragments from
// B_SRC, then each 16-row strip's left fragment from A_SRC times them (gemm_sgmat_row).
// abuf/bbuf: the offsets a_off/b_off are relative to. (A_SRC, B_SRC: As/Bs or a/b)
{
  let r0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&B_SRC, bbuf + b_off(ks, wc), LDB);
  let r1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&B_SRC, bbuf + b_off(ks, wc + 16u), LDB);
#if WIDE_N
  let r2 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&B_SRC, bbuf + b_off(ks, wc + 32u), LDB);
  let r3 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&B_SRC, bbuf + b_off(ks, wc + 48u), LDB);
#endif
#include "gemm/gemm_sgmat_row.wgsl" (I=0)
#include "gemm/gemm_sgmat_row.wgsl" (I=1)
#include "gemm/gemm_sgmat_row.wgsl" (I=2)
#include "gemm/gemm_sgmat_row.wgsl" (I=3)
}
