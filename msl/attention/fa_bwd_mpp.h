// The element-wise step of the Metal 4 backward kernels (attention/fa_bwd_dq_mpp.metal,
// attention/fa_bwd_dkv_mpp.metal) and their output stores, as mpp_acc_store targets
// (gemm/mpp_tile.h): each thread handles the elements of a cooperative f32 destination it
// holds, wherever the implementation places them.
#pragma once
#include <metal_stdlib>
#include "attention/fa_bwd.h"
using namespace metal;

// From the raw dot s = q·k of tile element (row, key col) of a 32 rows × 32 keys tile:
// P = exp(z − lse) where the row sees key j = j0 + col (j ≤ jlast), else 0; with DS,
// dS = P·(dP − D)·∂z/∂x (the scale is applied to the sums), dP read from the f32 tile dp.
// Written in the matmul operand type PT (half for f16: the bound's rounding of P and dS).
template <typename PT, bool DS>
struct fa4_bwd_px {
  threadgroup PT* x;
  threadgroup const float* dp;
  threadgroup const int* lo;
  threadgroup const int* hi;
  threadgroup const float2* ld;
  constant FaBwdParams* p;
  int j0;
  int jlast;
  void operator()(float s, int row, int col) const {
    const int j = j0 + col;
    float val = 0.0f;
    if (j <= jlast && j >= lo[row] && j <= hi[row]) {
      const float2 zs = fa_logit(s, *p);
      const float pp = precise::exp(zs.x - ld[row].x);
      val = DS ? pp * (dp[row * 32 + col] - ld[row].y) * zs.y : pp;
    }
    x[row * 32 + col] = PT(val);
  }
};

// dk/dv of key j0 + row: out[base + row·stride + col] = sc·v (NaN when the cu_seqlens are
// malformed).
template <typename T>
struct fa4_bwd_key_out {
  device T* out;
  uint base;
  uint stride;
  float sc;
  bool cu_ok;
  void operator()(float v, int row, int col) const {
    out[base + uint(row) * stride + uint(col)] = T(cu_ok ? sc * v : as_type<float>(0x7fc00000u));
  }
};

// dq of query row `row` of the block: out[off[row] + col] = sc·v (NaN as above).
template <typename T>
struct fa4_bwd_row_out {
  device T* out;
  threadgroup const uint* off;
  float sc;
  bool cu_ok;
  void operator()(float v, int row, int col) const {
    out[off[row] + uint(col)] = T(cu_ok ? sc * v : as_type<float>(0x7fc00000u));
  }
};
