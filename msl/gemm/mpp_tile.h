// The Metal 4 tile matmul shared by the kernels that multiply on Metal Performance
// Primitives (gemm/gemm_mpp.h from device tensors, quant/qgemm_mpp.metal from tiles it
// dequantizes into threadgroup memory): a BM×BN output tile on SG SIMD-groups, accumulated
// in a cooperative f32 tensor over BK-deep slices, then handed element by element to the
// caller's epilogue.
//
// Zero + mode::multiply_accumulate gives the same result whichever default mode an
// implementation has (Apple's header examples are ambiguous about it), so a tile is always
// zeroed first and every slice accumulates.
#pragma once
#include <metal_stdlib>
#include <metal_tensor>
#include <MetalPerformancePrimitives/MetalPerformancePrimitives.h>
using namespace metal;

// The matmul2d of a BM×BN tile over BK-deep slices; TA: left stored K×M, TB: right stored N×K.
template <int BM, int BN, int BK, bool TA, bool TB, int SG>
struct mpp_tile {
  static constexpr auto desc = mpp::tensor_ops::matmul2d_descriptor(
      BM, BN, BK, TA, TB, false, mpp::tensor_ops::matmul2d_descriptor::mode::multiply_accumulate);
  using op_type = mpp::tensor_ops::matmul2d<desc, execution_simdgroups<SG>>;
};

// Zeroes the elements of the cooperative destination this thread holds.
template <typename Acc>
inline void mpp_acc_zero(thread Acc& acc) {
  for (uint16_t i = 0; i < acc.get_capacity(); ++i)
    if (acc.is_valid_element(i)) acc[i] = 0.0f;
}

// Calls store(value, row, col) for each element this thread holds that lies inside the
// M×N output (the tile at row0, col0 may overhang it: ragged M and N). The cooperative
// index is [0] column, [1] row within the tile.
template <typename Acc, typename Store>
inline void mpp_acc_store(thread Acc& acc, int row0, int col0, int M, int N, thread const Store& store) {
  for (uint16_t i = 0; i < acc.get_capacity(); ++i) {
    if (!acc.is_valid_element(i)) continue;
    auto ix = acc.get_multidimensional_index(i);
    const int row = row0 + int(ix[1]), col = col0 + int(ix[0]);
    if (row < M && col < N) store(acc[i], row, col);
  }
}
