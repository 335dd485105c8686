// gemm_sgmat_vec.wgsl, registers → workgroup buffer BUF (a literal). Inline in main: with
// lid the builtin and constant loop bounds every index is provably in range, so no store
// carries a clamp (a clamped index per half also hides that 8 halves are contiguous).
{
  for (var i = 0u; i < A_PER; i = i + 1u) {
    let t = lid + i * WGT;
    let o = BUF##u * A_SZ + (t / A_V) * LDA + (t % A_V) * 8u;
    let v = ra[i];
    let h0 = bitcast<vec2<f16>>(v.x);
    let h1 = bitcast<vec2<f16>>(v.y);
    let h2 = bitcast<vec2<f16>>(v.z);
    let h3 = bitcast<vec2<f16>>(v.w);
    As[o] = h0.x;
    As[o + 1u] = h0.y;
    As[o + 2u] = h1.x;
    As[o + 3u] = h1.y;
    As[o + 4u] = h2.x;
    As[o + 5u] = h2.y;
    As[o + 6u] = h3.x;
    As[o + 7u] = h3.y;
  }
  for (var i = 0u; i < B_PER; i = i + 1u) {
    let t = lid + i * WGT;
    let o = BUF##u * B_SZ + (t / B_V) * LDB + (t % B_V) * 8u;
    let v = rb[i];
    let h0 = bitcast<vec2<f16>>(v.x);
    let h1 = bitcast<vec2<f16>>(v.y);
    let h2 = bitcast<vec2<f16>>(v.z);
    let h3 = bitcast<vec2<f16>>(v.w);
    Bs[o] = h0.x;
    Bs[o + 1u] = h0.y;
    Bs[o + 2u] = h1.x;
    Bs[o + 3u] = h1.y;
    Bs[o + 4u] = h2.x;
    Bs[o + 5u] = h2.y;
    Bs[o + 6u] = h3.x;
    Bs[o + 7u] = h3.y;
  }
}
