// The backward's output: columns 16F.. of MUL·ACC##F as f16 through the stage, 8 per lane
// as 4 packed words (exact RNE) at element OUTOFF of the lane's row; only rows with WRITE,
// NaN where BAD.
subgroupMatrixStore<row_major>(&stage, sg * SSZ, ACC##F, 16u);
workgroupBarrier();
if (WRITE) {
  for (var c = 0u; c < 8u; c = c + 2u) {
    let e = sg * SSZ + row * 16u + half * 8u + c;
    var x = MUL * vec2<f32>(stage[e], stage[e + 1u]);
    x = select(x, vec2<f32>(nan), BAD);
    out[(OUTOFF + F##u * 16u + half * 8u + c) / 2u] = f32_to_f16(x.x) | (f32_to_f16(x.y) << 16u);
  }
}
workgroupBarrier();
