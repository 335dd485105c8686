// Product fragment J (columns 16J.. of the result): Σ_F LEFT##F · (rows 16J.. of TILE)ᵀ — the
// tile's rows are the right operand's columns (col_major, row stride LD), NL slices F — into
// the subgroup's f32 stage DST (row stride STRIDE). Q·Kᵀ, dO·Vᵀ, K·Qᵀ, V·dOᵀ alike.
{
  var s = subgroup_matrix_result<f32, 16, 16>();
#include "common/frags.wgsl" (FRAG=attention/fa_sg_qk.wgsl, N=NL)
  subgroupMatrixStore<row_major>(&DST, sg * SSZ + J##u * 16u, s, STRIDE);
}
