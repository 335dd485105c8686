// gemm_sgmat_fetch.wgsl's b under QKV (gemm_sgmat_vec.wgsl): fused_norm_qkv's three weights,
// each [N_s, K], as one virtual B of N_q + N_k + N_v columns. The tile lies within one of
// them (seg; the launcher checks N_q and N_k are multiples of BN), whose rows start at virtual
// column s0 and number sn; seg is workgroup-uniform, so every lane takes the same branch.
for (var i = 0u; i < B_PER; i = i + 1u) {
  let t = lid + i * WGT;
  let gr = n0 - s0 + t / B_V;
  let gc = KN + (t % B_V) * 8u;
  var v = vec4<u32>();
  if (gr < sn && gc < k_end) {
    let w = bsv + gr * (p.k / 8u) + gc / 8u;
    if (seg == 0u) {
      v = b[w];
    } else if (seg == 1u) {
      v = b2[w];
    } else {
      v = b3[w];
    }
  }
  rb[i] = v;
}
