// quantized_gemm: y = x·dequant(W)ᵀ, W [N, K] decoded by decode.h, f32 accumulation (the
// bound of src/ops/quantized_gemm/spec.ts holds for any order). The Metal 3 tier; the
// Metal 4 prefill (tensor-op matmul) is quant/qgemm_mpp.metal.
//
// qgemv (M ≤ 16, decode): a threadgroup of 8 SIMD-groups; SIMD-group g owns column
//   tg·8 + g (one row of W, contiguous) and its 32 lanes stride along K in runs of 8 weights
//   (one decode8 per run, shared by all M rows of x; four runs in flight): W is streamed
//   once. simd_sum per row.
// qgemm_tiled (M > 16, prefill): 64×64 tiles of y, 256 threads with 4×4 outputs each; per
//   16-deep K slice, threads 0–127 stage the 64×16 slice of x and threads 128–255 decode the
//   64×16 slice of W into threadgroup memory as float, then the outer products.
// GGUF instantiations bind `w` again at 1 and 2 (never read).
#include <metal_stdlib>
#include "quant/decode.h"
#include "quant/qgemm_instantiate.h"
#include "quant/qgemm_params.h"
using namespace metal;

template <int FMT, typename S, typename X, typename Y>
[[kernel]] void qgemv(device const uchar* w [[buffer(0)]],
                      device const S* scales [[buffer(1)]],
                      device const S* biases [[buffer(2)]],
                      device const X* x [[buffer(3)]],
                      device Y* y [[buffer(4)]],
                      constant QgemmParams& p [[buffer(5)]],
                      uint tg [[threadgroup_position_in_grid]],
                      uint sg [[simdgroup_index_in_threadgroup]],
                      uint lane [[thread_index_in_simdgroup]]) {
  const uint col = tg * 8 + sg;
  float acc[16];
  for (uint i = 0; i < 16; i++) acc[i] = 0.0f;
  if (col < p.n) {
    const uint runs = p.k / 8;
    // Four runs in flight per lane, then the rest one by one.
    uint r = lane;
    for (; r + 96 < runs; r += 128) {
      float v[4][8];
      for (uint u = 0; u < 4; u++) decode8<FMT, S>(w, scales, biases, col, (r + 32 * u) * 8, p.row_bytes, p.group, p.gpr, v[u]);
      for (uint i = 0; i < 16; i++) {
        if (i < p.m) {
          float s = 0.0f;
          for (uint u = 0; u < 4; u++) {
            device const X* xr = x + ulong(i) * p.k + (r + 32 * u) * 8;
            for (uint t = 0; t < 8; t++) s += float(xr[t]) * v[u][t];
          }
          acc[i] += s;
        }
      }
    }
    for (; r < runs; r += 32) {
      float v[8];
      decode8<FMT, S>(w, scales, biases, col, r * 8, p.row_bytes, p.group, p.gpr, v);
      for (uint i = 0; i < 16; i++) {
        if (i < p.m) {
          device const X* xr = x + ulong(i) * p.k + r * 8;
          float s = 0.0f;
          for (uint t = 0; t < 8; t++) s += float(xr[t]) * v[t];
          acc[i] += s;
        }
      }
    }
  }
  for (uint i = 0; i < p.m; i++) {
    const float s = simd_sum(acc[i]);
    if (lane == i && col < p.n) y[ulong(i) * p.n + col] = Y(s);
  }
}

template <int FMT, typename S, typename X, typename Y>
[[kernel]] void qgemm_tiled(device const uchar* w [[buffer(0)]],
                            device const S* scales [[buffer(1)]],
                            device const S* biases [[buffer(2)]],
                            device const X* x [[buffer(3)]],
                            device Y* y [[buffer(4)]],
                            constant QgemmParams& p [[buffer(5)]],
                            uint2 tg [[threadgroup_position_in_grid]],
                            uint lid [[thread_index_in_threadgroup]]) {
  threadgroup float xs[16][68];
  threadgroup float ws[16][68];
  const uint tx = lid % 16;
  const uint ty = lid / 16;
  const uint row0 = tg.y * 64;
  const uint col0 = tg.x * 64;
  const uint half_ = lid % 128;
  const uint r = half_ / 2;
  const uint kk = (half_ % 2) * 8;
  float acc[4][4];
  for (uint i = 0; i < 4; i++)
    for (uint j = 0; j < 4; j++) acc[i][j] = 0.0f;
  for (uint k0 = 0; k0 < p.k; k0 += 16) {
    float v[8];
    for (uint t = 0; t < 8; t++) v[t] = 0.0f;
    if (lid < 128) {
      if (row0 + r < p.m) {
        device const X* xr = x + ulong(row0 + r) * p.k + k0 + kk;
        for (uint t = 0; t < 8; t++) v[t] = float(xr[t]);
      }
    } else if (col0 + r < p.n) {
      decode8<FMT, S>(w, scales, biases, col0 + r, k0 + kk, p.row_bytes, p.group, p.gpr, v);
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint t = 0; t < 8; t++) {
      if (lid < 128) xs[kk + t][r] = v[t];
      else ws[kk + t][r] = v[t];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint t = 0; t < 16; t++) {
      float a[4], b[4];
      for (uint i = 0; i < 4; i++) {
        a[i] = xs[t][ty * 4 + i];
        b[i] = ws[t][tx * 4 + i];
      }
      for (uint i = 0; i < 4; i++)
        for (uint j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
    }
  }
  for (uint i = 0; i < 4; i++) {
    const uint row = row0 + ty * 4 + i;
    for (uint j = 0; j < 4; j++) {
      const uint col = col0 + tx * 4 + j;
      if (row < p.m && col < p.n) y[ulong(row) * p.n + col] = Y(acc[i][j]);
    }
  }
}

instantiate_qg_fmt(qgemv)
instantiate_qg_fmt(qgemm_tiled)
