// gemm building block: the epilogue. One output element from its f32 accumulator:
//   v = alpha·acc  (rounded)   then  v = v + beta·c  (beta·c rounded, sum rounded)
//   then  v = v + bias  (rounded), then the conversion to the output type U, which rounds
// to nearest even (half(float) and bfloat(float) are RNE in MSL). This is the operation
// order the bound of src/ops/gemm/spec.ts counts: ((α·ŝ ⊕ β·c) ⊕ bias) then toDtype.
#pragma once
#include "gemm/params.h"

template <typename U>
inline void gemm_store_element(float acc, device U* y, device const U* c, device const U* bias,
                               constant GemmParams& p, ulong yi, uint col) {
  float v = acc;
  if (gemm_use_alpha) v = p.alpha * v;
  if (gemm_has_c) {
    const float bc = p.beta * float(c[yi]);
    v = v + bc;
  }
  if (gemm_has_bias) v = v + float(bias[col]);
  y[yi] = U(v);
}
