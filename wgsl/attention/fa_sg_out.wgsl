// fa_forward_sgmat.wgsl: columns 16F.. of o = O / l through the stage, 8 per lane as 4 packed
// words (exact RNE); rows past the last query write nothing.
subgroupMatrixStore<row_major>(&stage, sg * SSZ, o##F, 16u);
workgroupBarrier();
if (in_rows) {
  for (var c = 0u; c < 8u; c = c + 2u) {
    let e = sg * SSZ + row * 16u + half * 8u + c;
    var x = vec2<f32>(stage[e], stage[e + 1u]) / l;
    x = select(x, vec2<f32>(0.0), empty);
    x = select(x, vec2<f32>(nan), !cu_ok);
    o[(g.o + F##u * 16u + half * 8u + c) / 2u] = f32_to_f16(x.x) | (f32_to_f16(x.y) << 16u);
  }
}
workgroupBarrier();
