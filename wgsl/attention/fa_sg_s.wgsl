// fa_forward_sgmat.wgsl: scores of key fragment J (keys k0 + 16J ..) for the subgroup's rows,
// S = Σ_F Q_F · K_Fᵀ (K's rows are the right operand's columns: col_major), into the stage.
{
  var s = subgroup_matrix_result<f32, 16, 16>();
#include "common/frags.wgsl" (FRAG=attention/fa_sg_qk.wgsl, N=NQ)
  subgroupMatrixStore<row_major>(&stage, sg * SSZ + J##u * 16u, s, BK);
}
