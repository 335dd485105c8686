// The parameters of both quantized_gemm libraries (quant/quantized_gemm.metal,
// quant/qgemm_mpp.metal): the same fields, in order, as QGEMM_MSL_PARAMS in
// src/backend/metal/launchers/quantized_gemm.ts (4 bytes each).
#pragma once
#include <metal_stdlib>
using namespace metal;

struct QgemmParams {
  uint m;          // rows of x and y
  uint n;          // rows of W, columns of y
  uint k;          // the reduction length (a multiple of 32 in every format)
  uint row_bytes;  // bytes per packed row of W
  uint group;      // MLX group size (unused by GGUF formats)
  uint gpr;        // MLX groups per row: k / group
};
