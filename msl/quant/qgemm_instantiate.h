// The instantiations every quantized_gemm kernel template <FMT, S, X, Y> gets, named
// <kernel>_<format>_<scales>_<x>_<y> (src/backend/metal/launchers/quantized_gemm.ts builds
// the same names): MLX 4/8-bit with f32/f16/bf16 scales and biases, GGUF Q4_0, Q8_0, Q4_K,
// Q6_K (scales inside the blocks: "none"), x and y each f32/f16/bf16.
#pragma once
#include "quant/decode.h"

// Host names are single literals: built by token pasting, then stringified.
#define qg_str(x) #x
#define instantiate_qg(kern, name, F, S, X, Y) \
  template [[host_name(qg_str(name))]] [[kernel]] decltype(kern<F, S, X, Y>) kern<F, S, X, Y>;
#define instantiate_qg_y(kern, fmt, F, sn, S, xn, X) \
  instantiate_qg(kern, kern##_##fmt##_##sn##_##xn##_f32, F, S, X, float) \
  instantiate_qg(kern, kern##_##fmt##_##sn##_##xn##_f16, F, S, X, half) \
  instantiate_qg(kern, kern##_##fmt##_##sn##_##xn##_bf16, F, S, X, bfloat)
#define instantiate_qg_x(kern, fmt, F, sn, S) \
  instantiate_qg_y(kern, fmt, F, sn, S, f32, float) \
  instantiate_qg_y(kern, fmt, F, sn, S, f16, half) \
  instantiate_qg_y(kern, fmt, F, sn, S, bf16, bfloat)
#define instantiate_qg_fmt(kern) \
  instantiate_qg_x(kern, mlx4, QFMT_MLX4, f32, float) \
  instantiate_qg_x(kern, mlx4, QFMT_MLX4, f16, half) \
  instantiate_qg_x(kern, mlx4, QFMT_MLX4, bf16, bfloat) \
  instantiate_qg_x(kern, mlx8, QFMT_MLX8, f32, float) \
  instantiate_qg_x(kern, mlx8, QFMT_MLX8, f16, half) \
  instantiate_qg_x(kern, mlx8, QFMT_MLX8, bf16, bfloat) \
  instantiate_qg_x(kern, q4_0, QFMT_Q4_0, none, float) \
  instantiate_qg_x(kern, q8_0, QFMT_Q8_0, none, float) \
  instantiate_qg_x(kern, q4_k, QFMT_Q4_K, none, float) \
  instantiate_qg_x(kern, q6_k, QFMT_Q6_K, none, float)
