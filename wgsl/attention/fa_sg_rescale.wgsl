// fa_forward_sgmat.wgsl: o##F's rows times their lane's alpha, through the f32 stage (WGSL
// subgroup matrices have no per-row access). Workgroup-uniform: every subgroup comes here.
subgroupMatrixStore<row_major>(&stage, sg * SSZ, o##F, 16u);
workgroupBarrier();
for (var c = 0u; c < 8u; c = c + 1u) {
  let e = sg * SSZ + row * 16u + half * 8u + c;
  stage[e] = stage[e] * alpha;
}
workgroupBarrier();
o##F = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&stage, sg * SSZ, 16u);
workgroupBarrier();
