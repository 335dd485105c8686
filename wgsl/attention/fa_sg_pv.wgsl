// ACC += P_J · (rows 16J.. of RT): the subgroup's f16 stage (columns 16J.., row stride
// PSTRIDE) times the staged tile RT (row_major, row stride RLD), NR output fragments.
{
  let pm = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pstage, sg * PSZ + J##u * 16u, PSTRIDE);
#include "common/frags.wgsl" (FRAG=attention/fa_sg_pv_f.wgsl, N=NR)
}
