// fused_adamw_step, pass 1: per workgroup, Σ g² and the count of non-finite gradients over
// `span` consecutive elements of this chunk, into part[part_base + workgroup]. A fixed
// partition and fixed reductions: the same bits on every run. Non-finite values are found
// from their bits (WGSL arithmetic on inf/NaN is not defined).
#if SUBGROUPS
enable subgroups;
#endif

override WG: u32 = 256;

#include "common/convert.wgsl"
#include "common/tensor.wgsl" (NAME=g, DT=G_DT, BINDING=0, WRITE=0)
@group(0) @binding(1) var<storage, read_write> part: array<vec2<f32>>;
#include "common/reduce.wgsl"

struct Params {
  count: u32,
  span: u32,
  part_base: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

// 1.0 for each element of word wd whose exponent bits are all ones (inf or NaN).
fn nonfinite2(wd: u32) -> vec2<f32> {
#if G_DT == 0
  let b = bitcast<vec2<u32>>(load2_g(wd)) & vec2<u32>(0x7f800000u);
  return select(vec2<f32>(0.0), vec2<f32>(1.0), b == vec2<u32>(0x7f800000u));
#else
  let w = word_g(wd);
#if G_DT == 1
  let mask = 0x7c00u;
#else
  let mask = 0x7f80u;
#endif
  let b = vec2<u32>(w & mask, (w >> 16u) & mask);
  return select(vec2<f32>(0.0), vec2<f32>(1.0), b == vec2<u32>(mask));
#endif
}

#include "common/wg_entry.wgsl"
  let start = wid.x * p.span;
  let end = min(start + p.span, p.count);
  var acc = vec2<f32>(0.0);
  // start and span are even: element pairs (2k, 2k + 1) are whole words.
  for (var e = start + 2u * lid; e < end; e = e + 2u * WG) {
    let wd = e >> 1u;
    let two = e + 1u < end;
    var v = load2_g(wd);
    var nf = nonfinite2(wd);
    if (!two) {
      v.y = 0.0;
      nf.y = 0.0;
    }
    acc = acc + vec2<f32>(v.x * v.x + v.y * v.y, nf.x + nf.y);
  }
  let t = wg_sum2(acc, lid, sg_size);
  if (lid == 0u) {
    part[p.part_base + wid.x] = t;
  }
}
