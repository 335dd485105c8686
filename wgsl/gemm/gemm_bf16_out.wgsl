// gemm_sgmat_bf16.wgsl, epilogue of result IJ (literals): the lane's 8 register sums into
// the staging area, then the common flush (epilogue, masked dtype stores).
{
  let s0 = sg * 256u + lr * 16u + lc;
  let v0 = acc[(I##u * 2u + J##u) * 2u];
  let v1 = acc[(I##u * 2u + J##u) * 2u + 1u];
  stage[s0] = v0.x;
  stage[s0 + 1u] = v0.y;
  stage[s0 + 2u] = v0.z;
  stage[s0 + 3u] = v0.w;
  stage[s0 + 4u] = v1.x;
  stage[s0 + 5u] = v1.y;
  stage[s0 + 6u] = v1.z;
  stage[s0 + 7u] = v1.w;
}
flush(sg, lane, sg_size, m0 + wr + I##u * 16u, n0 + wc + J##u * 16u, ybz);
