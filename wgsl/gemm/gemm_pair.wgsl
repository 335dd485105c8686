// Two consecutive 16-bit elements e, e+1 of binding NAME as vec2<f16>, zero where masked
// off (ok0/ok1). One word read when the pair is word-aligned, two otherwise.
// Include with (NAME=x) after common/tensor.wgsl has bound x with a 16-bit dtype.

fn pair_##NAME(e: u32, ok0: bool, ok1: bool) -> vec2<f16> {
  if (ok0 && ok1 && (e & 1u) == 0u) {
    return bitcast<vec2<f16>>(word_##NAME(e >> 1u));
  }
  var v = vec2<f16>(0.0h, 0.0h);
  if (ok0) {
    let w = bitcast<vec2<f16>>(word_##NAME(e >> 1u));
    v.x = select(w.x, w.y, (e & 1u) == 1u);
  }
  if (ok1) {
    let e1 = e + 1u;
    let w = bitcast<vec2<f16>>(word_##NAME(e1 >> 1u));
    v.y = select(w.x, w.y, (e1 & 1u) == 1u);
  }
  return v;
}
