// gemm_sgmat_stash.wgsl for one operand: registers REG (ra or rb) → workgroup array ARR (As
// or Bs) in buffer BUF, PER words per invocation, V words per staged row of LD halves, SZ
// halves per buffer. The 8 halves of a word are stored one by one: the arrays are f16 for
// subgroupMatrixLoad. NRM: the word is normalised first from registers NR, NG, NK
// (gemm_sgmat_norm.wgsl).
for (var i = 0u; i < PER; i = i + 1u) {
  let t = lid + i * WGT;
  let o = BUF##u * SZ + (t / V) * LD + (t % V) * 8u;
#if NRM
  let v = norm_vec(REG[i], NR[i], NG[i], NK[i]);
#else
  let v = REG[i];
#endif
  let h0 = bitcast<vec2<f16>>(v.x);
  let h1 = bitcast<vec2<f16>>(v.y);
  let h2 = bitcast<vec2<f16>>(v.z);
  let h3 = bitcast<vec2<f16>>(v.w);
  ARR[o] = h0.x;
  ARR[o + 1u] = h0.y;
  ARR[o + 2u] = h1.x;
  ARR[o + 3u] = h1.y;
  ARR[o + 4u] = h2.x;
  ARR[o + 5u] = h2.y;
  ARR[o + 6u] = h3.x;
  ARR[o + 7u] = h3.y;
}
