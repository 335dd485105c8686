// gemm, Metal 4 tier: the tile matmul on Metal Performance Primitives (matmul2d, which runs
// on the neural accelerators where the chip has them), then the same epilogue as Metal 3.
//
// Grid: (ceil(N/BN), ceil(M/BM), batch) threadgroups of SG SIMD-groups. Each threadgroup
// views its batch's operands as tensors (extents innermost first: a row-major R×C matrix has
// extents (C, R)) and runs the shared tile matmul (gemm/mpp_tile.h) over K in BK-deep
// slices straight from device memory. Out-of-extent elements read as zero and the destination
// tile's elements past M or N are never stored (ragged M and N). The launcher only runs
// this kernel when K % BK == 0 (BK = 32): PMetal found the accelerator path wrong for a
// partial final K slice.
//
// Buffers: 0 a, 1 b, 2 c (gemm_has_c), 3 bias (gemm_has_bias), 4 y, 5 GemmParams.
#pragma once
#include <metal_stdlib>
#include "gemm/epilogue.h"
#include "gemm/mpp_tile.h"
#include "gemm/params.h"
using namespace metal;

// The gemm epilogue (gemm/epilogue.h) for mpp_acc_store: output element (row, col) of batch
// ybase's M×N output.
template <typename U>
struct gemm_mpp_store {
  device U* y;
  device const U* c;
  device const U* bias;
  constant GemmParams* p;
  ulong ybase;
  void operator()(float v, int row, int col) const {
    gemm_store_element<U>(v, y, c, bias, *p, ybase + ulong(row) * p->n + uint(col), uint(col));
  }
};

template <typename T, typename U, bool TA, bool TB, int BM, int BN, int BK, int SG>
[[kernel]] void gemm_mpp(
    device T* a [[buffer(0)]],
    device T* b [[buffer(1)]],
    device const U* c [[buffer(2), function_constant(gemm_has_c)]],
    device const U* bias [[buffer(3), function_constant(gemm_has_bias)]],
    device U* y [[buffer(4)]],
    constant GemmParams& p [[buffer(5)]],
    uint3 tg [[threadgroup_position_in_grid]]) {
  using namespace mpp::tensor_ops;
  const int M = int(p.m), N = int(p.n), K = int(p.k);
  const int row0 = int(tg.y) * BM, col0 = int(tg.x) * BN;
  device T* ab = a + ulong(tg.z) * p.a_bstride;
  device T* bb = b + ulong(tg.z) * p.b_bstride;
  const ulong ybase = ulong(tg.z) * uint(M) * uint(N);

  // op(A) is M×K: A stored M×K has extents (K, M); transposed, stored K×M, extents (M, K).
  auto A = tensor<device T, dextents<int32_t, 2>, tensor_inline>(ab, TA ? dextents<int32_t, 2>(M, K) : dextents<int32_t, 2>(K, M));
  // op(B) is K×N: B stored K×N has extents (N, K); transposed, stored N×K, extents (K, N).
  auto B = tensor<device T, dextents<int32_t, 2>, tensor_inline>(bb, TB ? dextents<int32_t, 2>(K, N) : dextents<int32_t, 2>(N, K));

  typename mpp_tile<BM, BN, BK, TA, TB, SG>::op_type op;

  // The slices at K = 0 give the cooperative tensor's type (their extents do not matter).
  auto mA0 = TA ? A.slice(row0, 0) : A.slice(0, row0);
  auto mB0 = TB ? B.slice(0, col0) : B.slice(col0, 0);
  auto acc = op.template get_destination_cooperative_tensor<__remove_addrspace_t<decltype(mA0)>, __remove_addrspace_t<decltype(mB0)>, float>();
  mpp_acc_zero(acc);

  for (int k = 0; k < K; k += BK) {
    auto mA = TA ? A.slice(row0, k) : A.slice(k, row0);
    auto mB = TB ? B.slice(k, col0) : B.slice(col0, k);
    op.run(mA, mB, acc);
  }

  const gemm_mpp_store<U> store{y, c, bias, &p, ybase};
  mpp_acc_store(acc, row0, col0, M, N, store);
}
