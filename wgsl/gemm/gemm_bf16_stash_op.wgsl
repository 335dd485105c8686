// gemm_sgmat_bf16.wgsl, registers → workgroup array for one operand of an exact window:
// REG (ra or rb) → ARR (As or Bs), PER words per invocation, V words per staged row of LD
// halves. Each bf16 becomes f32 (exact), is multiplied by its window's power of two M[…]
// (exact: the result is an f32 normal) and converted to f16 — exact, as the window's entry
// guarantees the scaled value is an f16 normal (src/ops/gemm/bf16_mma.ts), so the
// conversion's rounding direction never matters. ROWS_K: the staged rows run along K, a
// word spans 8 rows/columns (multiplier per position), else one (multiplier per word).
for (var i = 0u; i < PER; i = i + 1u) {
  let t = lid + i * WGT;
  let o = (t / V) * LD + (t % V) * 8u;
  let v = REG[i];
#if ROWS_K
  ARR[o] = f16(bitcast<f32>(v.x << 16u) * M[0]);
  ARR[o + 1u] = f16(bitcast<f32>(v.x & 0xffff0000u) * M[1]);
  ARR[o + 2u] = f16(bitcast<f32>(v.y << 16u) * M[2]);
  ARR[o + 3u] = f16(bitcast<f32>(v.y & 0xffff0000u) * M[3]);
  ARR[o + 4u] = f16(bitcast<f32>(v.z << 16u) * M[4]);
  ARR[o + 5u] = f16(bitcast<f32>(v.z & 0xffff0000u) * M[5]);
  ARR[o + 6u] = f16(bitcast<f32>(v.w << 16u) * M[6]);
  ARR[o + 7u] = f16(bitcast<f32>(v.w & 0xffff0000u) * M[7]);
#else
  let s = M[i];
  ARR[o] = f16(bitcast<f32>(v.x << 16u) * s);
  ARR[o + 1u] = f16(bitcast<f32>(v.x & 0xffff0000u) * s);
  ARR[o + 2u] = f16(bitcast<f32>(v.y << 16u) * s);
  ARR[o + 3u] = f16(bitcast<f32>(v.y & 0xffff0000u) * s);
  ARR[o + 4u] = f16(bitcast<f32>(v.z << 16u) * s);
  ARR[o + 5u] = f16(bitcast<f32>(v.z & 0xffff0000u) * s);
  ARR[o + 6u] = f16(bitcast<f32>(v.w << 16u) * s);
  ARR[o + 7u] = f16(bitcast<f32>(v.w & 0xffff0000u) * s);
#endif
}
