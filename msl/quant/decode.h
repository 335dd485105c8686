// Decoding a quantized weight W [N, K] (src/ops/quant/formats.ts; the same arithmetic as
// wgsl/quant/decode.wgsl). decode8<FMT>(…) writes W[row, k0 .. k0+7] (k0 a multiple of 8: a
// run never crosses an MLX group or a GGUF sub-block) as the f32 values llama.cpp / MLX
// compute:
//   MLX   s·q + b                      (s·q exact for 16-bit scales; one rounding)
//   Q4_0  (q − 8)·d, Q8_0 q·d          (exact)
//   Q4_K  (d·sc)·q − dmin·m            (the products exact; one rounding)
//   Q6_K  (d·sc)·q                     (exact)
// `w` is the packed weight as bytes (MLX rows are whole u32 words), `row_bytes` its row
// length; MLX scales/biases are [N, gpr] of S.
#pragma once
#include <metal_stdlib>
using namespace metal;

#define QFMT_MLX4 0
#define QFMT_MLX8 1
#define QFMT_Q4_0 2
#define QFMT_Q8_0 3
#define QFMT_Q4_K 4
#define QFMT_Q6_K 5

// The f16 at byte `at` (even) of a block.
inline float q_half(device const uchar* b, uint at) {
  return float(as_type<half>(ushort(uint(b[at]) | (uint(b[at + 1]) << 8))));
}

template <int FMT, typename S>
inline void decode8(device const uchar* w, device const S* scales, device const S* biases, uint row, uint k0, uint row_bytes, uint group, uint gpr, thread float* v) {
  device const uchar* r = w + ulong(row) * ulong(row_bytes);
  if (FMT == QFMT_MLX4 || FMT == QFMT_MLX8) {
    const ulong g = ulong(row) * gpr + k0 / group;
    const float s = float(scales[g]);
    const float b = float(biases[g]);
    device const uint* ww = (device const uint*)r;
    for (uint i = 0; i < 8; i++) {
      const uint q = FMT == QFMT_MLX4 ? (ww[k0 / 8] >> (4 * i)) & 15u : (ww[k0 / 4 + i / 4] >> (8 * (i % 4))) & 255u;
      v[i] = float(q) * s + b;
    }
  } else if (FMT == QFMT_Q4_0) {
    device const uchar* blk = r + (k0 / 32) * 18;
    const float d = q_half(blk, 0);
    const uint j = k0 % 32;
    for (uint i = 0; i < 8; i++) {
      const uint byte = blk[2 + j % 16 + i];
      v[i] = float(int(j >= 16 ? byte >> 4 : byte & 15u) - 8) * d;
    }
  } else if (FMT == QFMT_Q8_0) {
    device const uchar* blk = r + (k0 / 32) * 34;
    const float d = q_half(blk, 0);
    for (uint i = 0; i < 8; i++) v[i] = float(char(blk[2 + k0 % 32 + i])) * d;
  } else if (FMT == QFMT_Q4_K) {
    device const uchar* blk = r + (k0 / 256) * 144;
    const uint e = k0 % 256;
    const uint l = e % 64;
    // get_scale_min_k4(j) on the 12 scale bytes at blk + 4.
    const uint j = 2 * (e / 64) + l / 32;
    device const uchar* q = blk + 4;
    const uint sc = j < 4 ? q[j] & 63u : (q[j + 4] & 15u) | ((q[j - 4] >> 6) << 4);
    const uint m = j < 4 ? q[j + 4] & 63u : (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    const float ds = q_half(blk, 0) * float(sc);
    const float dm = q_half(blk, 2) * float(m);
    device const uchar* qs = blk + 16 + 32 * (e / 64) + l % 32;
    for (uint i = 0; i < 8; i++) v[i] = float(l >= 32 ? qs[i] >> 4 : qs[i] & 15u) * ds - dm;
  } else {
    device const uchar* blk = r + (k0 / 256) * 210;
    const uint e = k0 % 256;
    const uint h = e / 128;
    const uint c = (e / 32) % 4;
    const uint l = e % 32;
    device const uchar* ql = blk + 64 * h + l + 32 * (c & 1);
    device const uchar* qh = blk + 128 + 32 * h + l;
    const float ds = q_half(blk, 208) * float(char(blk[192 + 8 * h + l / 16 + 2 * c]));
    for (uint i = 0; i < 8; i++) {
      const int q = int((c >= 2 ? ql[i] >> 4 : ql[i] & 15u) | (((qh[i] >> (2 * c)) & 3u) << 4)) - 32;
      v[i] = float(q) * ds;
    }
  }
}
