// gemm: the kernel parameters and function constants shared by both tiers.
//
// GemmParams is the same field list, in order, as GEMM_PARAMS in
// src/backend/metal/launchers/gemm.ts (4 bytes each).
#pragma once
#include <metal_stdlib>
using namespace metal;

struct GemmParams {
  uint m;          // rows of op(A) and y
  uint n;          // columns of op(B) and y
  uint k;          // the reduction length
  uint a_bstride;  // elements between batches of a (0: a rank-2 a broadcast over the batch)
  uint b_bstride;  // elements between batches of b (0: broadcast)
  float alpha;
  float beta;
};

// y = alpha·op(A)·op(B) [+ beta·C] [+ bias]. Undefined constants read as false.
constant bool gemm_has_c [[function_constant(0)]];     // c bound at buffer(2), beta ≠ 0
constant bool gemm_has_bias [[function_constant(1)]];  // bias[N] bound at buffer(3)
constant bool gemm_use_alpha [[function_constant(2)]]; // alpha ≠ 1 (alpha = 1 skips the multiply: exact either way)
