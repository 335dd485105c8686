// gemm ceiling, one 16-deep step of a subgroup's 64×64 block (4×4 accumulators c0..c15):
// left fragments from As at column KS, right fragments from Bs at row KS (literal), then
// the 16 multiply-accumulates. Offsets from sg = subgroup_id % 8 and literals only, as in
// gemm_sgmat_step.wgsl.
{
  let ao = (sg / 4u) * 64u * LDA + KS##u;
  let bo = KS##u * LDB + (sg % 4u) * 64u;
  let l0 = subgroupMatrixLoad<L, row_major>(&As, ao, LDA);
  let l1 = subgroupMatrixLoad<L, row_major>(&As, ao + 16u * LDA, LDA);
  let l2 = subgroupMatrixLoad<L, row_major>(&As, ao + 32u * LDA, LDA);
  let l3 = subgroupMatrixLoad<L, row_major>(&As, ao + 48u * LDA, LDA);
  let r0 = subgroupMatrixLoad<R, row_major>(&Bs, bo, LDB);
  let r1 = subgroupMatrixLoad<R, row_major>(&Bs, bo + 16u, LDB);
  let r2 = subgroupMatrixLoad<R, row_major>(&Bs, bo + 32u, LDB);
  let r3 = subgroupMatrixLoad<R, row_major>(&Bs, bo + 48u, LDB);
#include "bench/sgmat_mma16.wgsl"
}
