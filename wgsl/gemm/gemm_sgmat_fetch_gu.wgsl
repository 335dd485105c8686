// gemm_sgmat_fetch.wgsl's b under GU (gemm_sgmat_vec.wgsl): fused_mlp's gate and up weights,
// both [I, K] (b = W_g, b2 = W_u), as one virtual B of 2·I columns interleaved per subgroup
// block: tile column r is column n0h + (r / WN)·(WN/2) + r % (WN/2) of h, taken from W_g where
// r % WN < WN/2 and from W_u otherwise — so each subgroup holds a gate result and the up
// result of the same h columns and its epilogue pairs them (gemm_sgmat_gu_out.wgsl). 8
// consecutive rows share a source (WN/2 ≥ 16), so a subgroup's 32 lanes take one branch.
for (var i = 0u; i < B_PER; i = i + 1u) {
  let t = lid + i * WGT;
  let r = t / B_V;
  let c = (t % B_V) * 8u;
  let gr = n0h + (r / WN) * (WN / 2u) + r % (WN / 2u);
  let gc = KN + c;
  var v = vec4<u32>();
  if (gr < p.n && gc < k_end) {
    let w = gr * (p.k / 8u) + gc / 8u;
    if (r % WN < WN / 2u) {
      v = b[bv + w];
    } else {
      v = b2[b2v + w];
    }
  }
  rb[i] = v;
}
