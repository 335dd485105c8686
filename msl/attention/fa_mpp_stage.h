// Staging for the Metal 4 attention kernels (the backward's fa_bwd_dq_mpp.metal and
// fa_bwd_dkv_mpp.metal, decode_attention_mpp.metal): 32-row tiles of device rows copied into
// threadgroup memory in the matmul's operand type, zeros where a row is absent, so every MPP
// product reduces over whole 32-deep slices of real data or zeros.
#pragma once
#include <metal_stdlib>
using namespace metal;

constant constexpr uint FA4_NONE = 0xffffffffu;  // an absent row: staged as zeros

// dst (32 rows × w, row-major) = src[off[r] + c0 + c] for c < w, 0 where off[r] is FA4_NONE.
template <typename T, typename PT>
inline void fa4_stage_rows(threadgroup PT* dst, device const T* src, threadgroup const uint* off, uint c0, uint w, uint lid, uint tpg) {
  for (uint e = lid; e < 32 * w; e += tpg) {
    const uint o = off[e / w];
    dst[e] = o == FA4_NONE ? PT(0) : PT(src[o + c0 + e % w]);
  }
}

// dst (32 keys × w) = src[base + j·stride + c0 + c] for keys j = j0 + r ≤ jlast, else 0.
template <typename T, typename PT>
inline void fa4_stage_keys(threadgroup PT* dst, device const T* src, uint base, uint stride, int j0, int jlast, uint c0, uint w, uint lid, uint tpg) {
  for (uint e = lid; e < 32 * w; e += tpg) {
    const int j = j0 + int(e / w);
    dst[e] = j <= jlast ? PT(src[base + uint(j) * stride + c0 + e % w]) : PT(0);
  }
}

// mpp_acc_store target: tile[row · 32 + col] = v (a 32 × 32 f32 tile in threadgroup memory).
struct fa4_tile_store {
  threadgroup float* t;
  void operator()(float v, int row, int col) const { t[row * 32 + col] = v; }
};
