// One tensor binding and its accessors. Include with
//   #include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=0, WRITE=0)
// WRITE=0 binds read-only with loads; WRITE=1 binds read_write with stores as well.
// Words: f32 tensors use one word per element but are walked in pairs like 16-bit ones,
// so word w always means elements 2w and 2w+1.

#if DT == 0
#if WRITE
@group(0) @binding(BINDING) var<storage, read_write> NAME: array<f32>;
#else
@group(0) @binding(BINDING) var<storage, read> NAME: array<f32>;
#endif
fn load_##NAME(ei: u32) -> f32 {
  return NAME[ei];
}
fn load2_##NAME(wd: u32) -> vec2<f32> {
  // The second element may lie one past the end (odd length); robust access keeps the read
  // in bounds and the caller masks the value out.
  return vec2<f32>(NAME[2u * wd], NAME[min(2u * wd + 1u, arrayLength(&NAME) - 1u)]);
}
#else
#if WRITE == 0
@group(0) @binding(BINDING) var<storage, read> NAME: array<u32>;
fn word_##NAME(wd: u32) -> u32 {
  return NAME[wd];
}
#else
@group(0) @binding(BINDING) var<storage, read_write> NAME: array<atomic<u32>>;
fn word_##NAME(wd: u32) -> u32 {
  return atomicLoad(&NAME[wd]);
}
#endif
fn unpack_##NAME(v: u32) -> vec2<f32> {
#if DT == 1
  return vec2<f32>(f16_to_f32(v & 0xffffu), f16_to_f32(v >> 16u));
#else
  return vec2<f32>(bf16_to_f32(v & 0xffffu), bf16_to_f32(v >> 16u));
#endif
}
fn load_##NAME(ei: u32) -> f32 {
  let v = unpack_##NAME(word_##NAME(ei >> 1u));
  return select(v.x, v.y, (ei & 1u) == 1u);
}
fn load2_##NAME(wd: u32) -> vec2<f32> {
  return unpack_##NAME(word_##NAME(wd));
}
#endif

#if WRITE
#if DT == 0
fn store_##NAME(ei: u32, v: f32) {
  NAME[ei] = v;
}
fn store2_##NAME(wd: u32, v: vec2<f32>, m0: bool, m1: bool) {
  if (m0) {
    NAME[2u * wd] = v.x;
  }
  if (m1) {
    NAME[2u * wd + 1u] = v.y;
  }
}
#else
fn pack_##NAME(v: vec2<f32>) -> u32 {
#if DT == 1
  return f32_to_f16(v.x) | (f32_to_f16(v.y) << 16u);
#else
  return f32_to_bf16(v.x) | (f32_to_bf16(v.y) << 16u);
#endif
}
fn store2_##NAME(wd: u32, v: vec2<f32>, m0: bool, m1: bool) {
  let p = pack_##NAME(v);
  if (m0 && m1) {
    atomicStore(&NAME[wd], p);
  } else if (m0) {
    // A word shared with the previous/next row: replace only our half.
    atomicAnd(&NAME[wd], 0xffff0000u);
    atomicOr(&NAME[wd], p & 0xffffu);
  } else if (m1) {
    atomicAnd(&NAME[wd], 0x0000ffffu);
    atomicOr(&NAME[wd], p & 0xffff0000u);
  }
}
fn store_##NAME(ei: u32, v: f32) {
  let wd = ei >> 1u;
  let hi = (ei & 1u) == 1u;
  store2_##NAME(wd, vec2<f32>(v, v), !hi, hi);
}
#endif
#endif
