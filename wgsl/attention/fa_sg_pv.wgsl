// fa_forward_sgmat.wgsl: O += P_J · V_J for key fragment J (P from the subgroup's stage).
{
  let pm = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pstage, sg * PSZ + J##u * 16u, BK);
#include "common/frags.wgsl" (FRAG=attention/fa_sg_pv_f.wgsl, N=NV)
}
