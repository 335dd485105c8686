// gemm_sgmat_bf16.wgsl, end of an exact window, result IJ (literals) of the subgroup: the
// matrix-unit sums through the staging area; the lane's 8 (row lr, columns lc … +8) are
// scaled back by 2^(E_A + E_B − 284) (pow2_scale: exact barring f32 under/overflow) and
// added to its register sums, one rounding to nearest per add.
subgroupMatrixStore<row_major>(&stage, sg * 256u, c##I##J, 16u);
workgroupBarrier();
{
  let s0 = sg * 256u + lr * 16u + lc;
  let er = i32(wea[wr + I##u * 16u + lr] & 0xffu) - 284i;
  let cb = wc + J##u * 16u + lc;
  let x0 = vec4<f32>(
    pow2_scale(stage[s0], er + i32(web[cb] & 0xffu)),
    pow2_scale(stage[s0 + 1u], er + i32(web[cb + 1u] & 0xffu)),
    pow2_scale(stage[s0 + 2u], er + i32(web[cb + 2u] & 0xffu)),
    pow2_scale(stage[s0 + 3u], er + i32(web[cb + 3u] & 0xffu)));
  let x1 = vec4<f32>(
    pow2_scale(stage[s0 + 4u], er + i32(web[cb + 4u] & 0xffu)),
    pow2_scale(stage[s0 + 5u], er + i32(web[cb + 5u] & 0xffu)),
    pow2_scale(stage[s0 + 6u], er + i32(web[cb + 6u] & 0xffu)),
    pow2_scale(stage[s0 + 7u], er + i32(web[cb + 7u] & 0xffu)));
  acc[(I##u * 2u + J##u) * 2u] = acc[(I##u * 2u + J##u) * 2u] + x0;
  acc[(I##u * 2u + J##u) * 2u + 1u] = acc[(I##u * 2u + J##u) * 2u + 1u] + x1;
}
workgroupBarrier();
