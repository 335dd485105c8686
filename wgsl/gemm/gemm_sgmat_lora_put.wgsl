// gemm_sgmat_lora_epi.wgsl: the 8 halves of word v into ARR at O, O + STRIDE, … O + 7·STRIDE
// (the arrays are f16 for subgroupMatrixLoad, so one by one; STRIDE 1u, or a staged row's
// length where the operand is staged transposed).
{
  let o = O;
  let h0 = bitcast<vec2<f16>>(v.x);
  let h1 = bitcast<vec2<f16>>(v.y);
  let h2 = bitcast<vec2<f16>>(v.z);
  let h3 = bitcast<vec2<f16>>(v.w);
  ARR[o] = h0.x;
  ARR[o + STRIDE] = h0.y;
  ARR[o + 2u * STRIDE] = h1.x;
  ARR[o + 3u * STRIDE] = h1.y;
  ARR[o + 4u * STRIDE] = h2.x;
  ARR[o + 5u * STRIDE] = h2.y;
  ARR[o + 6u * STRIDE] = h3.x;
  ARR[o + 7u * STRIDE] = h3.y;
}
