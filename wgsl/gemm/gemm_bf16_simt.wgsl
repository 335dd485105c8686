// gemm_sgmat_bf16.wgsl, an inexact window [kw0, kw1), result IJ (literals): the lane's 8
// sums by fma from the bf16 values (the f32 path's arithmetic: exact products, one rounding
// per add, NaN/±inf propagate), then added to its register sums. Slow (global loads per
// element); only windows the prepass flags take it.
{
  let row = m0 + wr + I##u * 16u + lr;
  let col = n0 + wc + J##u * 16u + lc;
  var w0 = vec4<f32>();
  var w1 = vec4<f32>();
  for (var k = kw0; k < kw1; k = k + 1u) {
    let x = vec4<f32>(a_at(wid.z, row, k));
    w0 = fma(x, vec4<f32>(b_at(wid.z, k, col), b_at(wid.z, k, col + 1u), b_at(wid.z, k, col + 2u), b_at(wid.z, k, col + 3u)), w0);
    w1 = fma(x, vec4<f32>(b_at(wid.z, k, col + 4u), b_at(wid.z, k, col + 5u), b_at(wid.z, k, col + 6u), b_at(wid.z, k, col + 7u)), w1);
  }
  acc[(I##u * 2u + J##u) * 2u] = acc[(I##u * 2u + J##u) * 2u] + w0;
  acc[(I##u * 2u + J##u) * 2u + 1u] = acc[(I##u * 2u + J##u) * 2u + 1u] + w1;
}
