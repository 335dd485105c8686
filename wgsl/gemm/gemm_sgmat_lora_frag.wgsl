// gemm_sgmat_out.wgsl under LORA_EPI: accumulator cIJ plus the rank-r term's 16×16 block
// (strip I, column block J; the operands staged by gemm_sgmat_lora_epi.wgsl) into `stage`.
// The sum is consumed by the store: the accumulator variable itself is never reassigned.
{
#if TRANS_A
  let lo = wr + I##u * 16u;
  const LDLA: u32 = LDA;
  const lstep = 16u * LDA;
#else
  let lo = (wr + I##u * 16u) * LRA;
  const LDLA: u32 = LRA;
  const lstep = 16u;
#endif
#if TRANS_B
  let ro = (wc + J##u * 16u) * LRA;
  const LDR: u32 = LRA;
  const rstep = 16u;
#else
  let ro = wc + J##u * 16u;
  const LDR: u32 = LDL;
  const rstep = 16u * LDL;
#endif
  var t = subgroupMatrixMultiplyAccumulate(
      subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&As, lo, LDLA),
      subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, ro, LDR), c##I##J);
  if (lora_two) {
    t = subgroupMatrixMultiplyAccumulate(
        subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&As, lo + lstep, LDLA),
        subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, ro + rstep, LDR), t);
  }
  subgroupMatrixStore<row_major>(&stage, sg * 256u, t, 16u);
}
