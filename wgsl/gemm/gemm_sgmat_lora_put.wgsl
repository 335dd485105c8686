// gemm_sgmat_lora_epi.wgsl: the 8 halves of word v into ARR at O..O+7 (the arrays are f16
// for subgroupMatrixLoad, so one by one).
{
  let o = O;
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
