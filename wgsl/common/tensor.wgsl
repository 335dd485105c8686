// One tensor binding and its accessors. Include with
//   #include "common/tensor.wgsl" (NAME=x, DT=X_DT, BINDING=0, WRITE=0)
// WRITE=0 binds read-only with loads; WRITE=1 binds read_write with stores as well.
// ATOMIC_OUT (kernel-wide, default 1): 16-bit outputs whose words two invocations may share
// (rows of odd length) are array<atomic<u32>>; launchers set ATOMIC_OUT=0 where no word is
// shared, and stores are then plain.
#ifndef ATOMIC_OUT
#define ATOMIC_OUT 1
#endif
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
#elif ATOMIC_OUT
@group(0) @binding(BINDING) var<storage, read_write> NAME: array<atomic<u32>>;
fn word_##NAME(wd: u32) -> u32 {
  return atomicLoad(&NAME[wd]);
}
#else
@group(0) @binding(BINDING) var<storage, read_write> NAME: array<u32>;
fn word_##NAME(wd: u32) -> u32 {
  return NAME[wd];
}
#endif
fn unpack_##NAME(v: u32) -> vec2<f32> {
#if DT == 1
  // Exact: every f16 is representable in f32.
  return unpack2x16float(v);
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
#if ATOMIC_OUT == 0
  // No word is shared between invocations here (the launcher guarantees it), so a partial
  // word is a plain read-modify-write by its only writer.
  if (m0 && m1) {
    NAME[wd] = p;
  } else if (m0) {
    NAME[wd] = (NAME[wd] & 0xffff0000u) | (p & 0xffffu);
  } else if (m1) {
    NAME[wd] = (NAME[wd] & 0x0000ffffu) | (p & 0xffff0000u);
  }
#else
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
#endif
}
// A whole packed word, bit for bit.
fn storew_##NAME(wd: u32, bits: u32) {
#if ATOMIC_OUT
  atomicStore(&NAME[wd], bits);
#else
  NAME[wd] = bits;
#endif
}
fn store_##NAME(ei: u32, v: f32) {
  let wd = ei >> 1u;
  let hi = (ei & 1u) == 1u;
  store2_##NAME(wd, vec2<f32>(v, v), !hi, hi);
}
#endif
#endif
