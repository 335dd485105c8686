// Decoding a quantized weight W [N, K] (src/ops/quant/formats.ts): the packed weight at
// binding 0 as 32-bit words (MLX words; GGUF bytes, read through qbyte/qword at any byte
// alignment), MLX scales/biases at bindings 1 and 2 (dtype S_DT). decode8(row, k0) returns
// W[row, k0 .. k0+7] (k0 a multiple of 8: a run never crosses an MLX group or a GGUF
// sub-block) as the f32 values llama.cpp / MLX compute:
//   MLX   s·q + b                      (s·q exact for 16-bit scales; one rounding)
//   Q4_0  (q − 8)·d, Q8_0 q·d          (exact)
//   Q4_K  (d·sc)·q − dmin·m            (the products exact; one rounding)
//   Q6_K  (d·sc)·q                     (exact)
// Switches: MLX (BITS8: 8-bit, else 4-bit), else one of Q8_0, Q4_K, Q6_K (none: Q4_0).
// Needs Params `p` with w_base (the row-0 base in words for MLX, bytes for GGUF), row_units
// (words or bytes per row), s_base, group and gpr (MLX: groups per row). Every word index is
// clamped to the binding (a byte run may end in the last word).
// WVEC (MLX only, qgemv_rows.wgsl): the packed weight is bound as 16-byte words (wq4) and
// decoded by the kernel itself; decode8 and the byte readers are left out.
#include "common/convert.wgsl"
#if WVEC
@group(0) @binding(0) var<storage, read> wq4: array<vec4<u32>>;
#else
@group(0) @binding(0) var<storage, read> wq: array<u32>;
#endif
#if MLX
#include "common/tensor.wgsl" (NAME=scales, DT=S_DT, BINDING=1, WRITE=0)
#include "common/tensor.wgsl" (NAME=biases, DT=S_DT, BINDING=2, WRITE=0)
#endif

struct W8 {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

#if !WVEC
fn qw(i: u32) -> u32 {
  return wq[min(i, arrayLength(&wq) - 1u)];
}
fn qbyte(b: u32) -> u32 {
  return (qw(b >> 2u) >> ((b & 3u) * 8u)) & 0xffu;
}
// Four bytes from byte b (any alignment), little-endian.
fn qword(b: u32) -> u32 {
  let s = (b & 3u) * 8u;
  let lo = qw(b >> 2u);
  let hi = qw((b >> 2u) + 1u);
  return select((lo >> s) | (hi << (32u - s)), lo, s == 0u);
}
// The f16 at even byte b.
fn qhalf(b: u32) -> f32 {
  return f16_to_f32((qw(b >> 2u) >> ((b & 2u) * 8u)) & 0xffffu);
}
// The four 4-bit / 8-bit fields of word x from bit `shift`, as floats.
fn nib4(x: u32, shift: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(x >> shift, x >> (shift + 8u), x >> (shift + 16u), x >> (shift + 24u)) & vec4<u32>(15u));
}
fn sbyte4(x: u32) -> vec4<f32> {
  let v = bitcast<vec4<i32>>(vec4<u32>(x << 24u, x << 16u, x << 8u, x));
  return vec4<f32>(v >> vec4<u32>(24u));
}

fn decode8(row: u32, k0: u32) -> W8 {
#if MLX
  let g = p.s_base + row * p.gpr + k0 / p.group;
  let s = load_scales(g);
  let b = load_biases(g);
  let wb = p.w_base + row * p.row_units;
#if BITS8
  let x0 = qw(wb + k0 / 4u);
  let x1 = qw(wb + k0 / 4u + 1u);
  let qa = vec4<f32>(vec4<u32>(x0, x0 >> 8u, x0 >> 16u, x0 >> 24u) & vec4<u32>(255u));
  let qb = vec4<f32>(vec4<u32>(x1, x1 >> 8u, x1 >> 16u, x1 >> 24u) & vec4<u32>(255u));
#else
  let x = qw(wb + k0 / 8u);
  let qa = vec4<f32>(vec4<u32>(x, x >> 4u, x >> 8u, x >> 12u) & vec4<u32>(15u));
  let qb = vec4<f32>(vec4<u32>(x >> 16u, x >> 20u, x >> 24u, x >> 28u) & vec4<u32>(15u));
#endif
  return W8(qa * s + b, qb * s + b);
#elif Q8_0
  let base = p.w_base + row * p.row_units + (k0 / 32u) * 34u;
  let d = qhalf(base);
  let at = base + 2u + (k0 % 32u);
  return W8(sbyte4(qword(at)) * d, sbyte4(qword(at + 4u)) * d);
#elif Q4_K
  let base = p.w_base + row * p.row_units + (k0 / 256u) * 144u;
  let e = k0 % 256u;
  let l = e % 64u;
  // get_scale_min_k4(j) on the 12 scale bytes at base + 4.
  let j = 2u * (e / 64u) + l / 32u;
  var sc: u32;
  var m: u32;
  if (j < 4u) {
    sc = qbyte(base + 4u + j) & 63u;
    m = qbyte(base + 8u + j) & 63u;
  } else {
    sc = (qbyte(base + 8u + j) & 15u) | ((qbyte(base + j) >> 6u) << 4u);
    m = (qbyte(base + 8u + j) >> 4u) | ((qbyte(base + 4u + j) >> 6u) << 4u);
  }
  let ds = qhalf(base) * f32(sc);
  let dm = qhalf(base + 2u) * f32(m);
  let at = base + 16u + 32u * (e / 64u) + (l % 32u);
  let sh = select(0u, 4u, l >= 32u);
  return W8(nib4(qword(at), sh) * ds - dm, nib4(qword(at + 4u), sh) * ds - dm);
#elif Q6_K
  let base = p.w_base + row * p.row_units + (k0 / 256u) * 210u;
  let e = k0 % 256u;
  let h = e / 128u;
  let c = (e / 32u) % 4u;
  let l = e % 32u;
  let lat = base + 64u * h + l + 32u * (c & 1u);
  let hat = base + 128u + 32u * h + l;
  let sh = select(0u, 4u, c >= 2u);
  let sc = f32(bitcast<i32>(qbyte(base + 192u + 8u * h + l / 16u + 2u * c) << 24u) >> 24u);
  let ds = qhalf(base + 208u) * sc;
  let hl0 = qword(hat);
  let hl1 = qword(hat + 4u);
  let qa = nib4(qword(lat), sh) + 16.0 * vec4<f32>(vec4<u32>(hl0 >> (2u * c), hl0 >> (2u * c + 8u), hl0 >> (2u * c + 16u), hl0 >> (2u * c + 24u)) & vec4<u32>(3u)) - 32.0;
  let qb = nib4(qword(lat + 4u), sh) + 16.0 * vec4<f32>(vec4<u32>(hl1 >> (2u * c), hl1 >> (2u * c + 8u), hl1 >> (2u * c + 16u), hl1 >> (2u * c + 24u)) & vec4<u32>(3u)) - 32.0;
  return W8(qa * ds, qb * ds);
#else
  let base = p.w_base + row * p.row_units + (k0 / 32u) * 18u;
  let d = qhalf(base);
  let at = base + 2u + (k0 % 16u);
  let sh = select(0u, 4u, (k0 % 32u) >= 16u);
  return W8((nib4(qword(at), sh) - 8.0) * d, (nib4(qword(at + 4u), sh) - 8.0) * d);
#endif
}
#endif
