// quantized_gemm, Metal 4 tier (prefill): y = x·dequant(W)ᵀ with the tile matmul of the
// Metal 4 gemm (gemm/mpp_tile.h: MPP matmul2d, on the neural accelerators where the chip
// has them) fed from threadgroup memory.
//
// Grid: (ceil(N/BN), ceil(M/BM)) threadgroups of 128 threads (4 SIMD-groups), one BM×BN
// tile of y each (BM = 64, BN = 32, the gemm's Metal 4 tile). Per BK = 32 deep K slice the
// threads stage x[row0 .. row0+63, k0 .. k0+31] (two runs of 8 each) and decode
// W[col0 .. col0+31, k0 .. k0+31] (one decode8 run each, quant/decode.h) into threadgroup
// memory, then all four SIMD-groups run the matmul on the two tiles: xs (BM×BK, extents
// (BK, BM)) times wsᵀ (ws stored BN×BK: transpose_right). Rows past M and columns past N
// are staged as zeros and never stored (ragged M and N); K is a multiple of 32 in every
// format (MLX groups of 32/64/128, GGUF blocks of 32/256), so every slice is whole — the
// accelerator matmul is wrong on a partial K slice (PMetal), and the launcher refuses one.
//
// Both tiles are staged as float, whatever x's dtype: a dequantized weight (s·q + b, (q−8)·d,
// …) is an f32 value that f16 or bf16 could not hold exactly, and the bound of
// src/ops/quantized_gemm/spec.ts counts only the f32 accumulation after an exact decode.
// 12 KiB of threadgroup memory.
//
// Buffers as quant/quantized_gemm.metal: 0 w, 1 scales, 2 biases (GGUF: w again, never
// read), 3 x [M, K], 4 y [M, N], 5 QgemmParams.
#include <metal_stdlib>
#include "gemm/mpp_tile.h"
#include "quant/decode.h"
#include "quant/qgemm_instantiate.h"
#include "quant/qgemm_params.h"
using namespace metal;

// y[row, col] for mpp_acc_store.
template <typename Y>
struct qgemm_mpp_store {
  device Y* y;
  uint n;
  void operator()(float v, int row, int col) const { y[ulong(row) * n + uint(col)] = Y(v); }
};

template <int FMT, typename S, typename X, typename Y>
[[kernel]] void qgemm_mpp(device const uchar* w [[buffer(0)]],
                          device const S* scales [[buffer(1)]],
                          device const S* biases [[buffer(2)]],
                          device const X* x [[buffer(3)]],
                          device Y* y [[buffer(4)]],
                          constant QgemmParams& p [[buffer(5)]],
                          uint2 tg [[threadgroup_position_in_grid]],
                          uint lid [[thread_index_in_threadgroup]]) {
  constexpr int BM = 64, BN = 32, BK = 32, SG = 4;
  threadgroup float xs[BM * BK];
  threadgroup float ws[BN * BK];
  const uint row0 = tg.y * BM, col0 = tg.x * BN;

  auto X_ = tensor<threadgroup float, dextents<int32_t, 2>, tensor_inline>(xs, dextents<int32_t, 2>(BK, BM));
  auto W_ = tensor<threadgroup float, dextents<int32_t, 2>, tensor_inline>(ws, dextents<int32_t, 2>(BK, BN));
  typename mpp_tile<BM, BN, BK, false, true, SG>::op_type op;
  auto acc = op.template get_destination_cooperative_tensor<__remove_addrspace_t<decltype(X_)>, __remove_addrspace_t<decltype(W_)>, float>();
  mpp_acc_zero(acc);

  for (uint k0 = 0; k0 < p.k; k0 += BK) {
    // x: BM rows × BK = 256 runs of 8 (4 per row); thread lid stages runs lid and lid + 128.
    for (uint u = 0; u < 2; u++) {
      const uint run = lid + 128 * u;
      const uint r = run / 4, kk = (run % 4) * 8;
      float v[8];
      for (uint t = 0; t < 8; t++) v[t] = 0.0f;
      if (row0 + r < p.m) {
        device const X* xr = x + ulong(row0 + r) * p.k + k0 + kk;
        for (uint t = 0; t < 8; t++) v[t] = float(xr[t]);
      }
      for (uint t = 0; t < 8; t++) xs[r * BK + kk + t] = v[t];
    }
    // W: BN rows × BK = 128 runs of 8, one per thread.
    {
      const uint r = lid / 4, kk = (lid % 4) * 8;
      float v[8];
      for (uint t = 0; t < 8; t++) v[t] = 0.0f;
      if (col0 + r < p.n) decode8<FMT, S>(w, scales, biases, col0 + r, k0 + kk, p.row_bytes, p.group, p.gpr, v);
      for (uint t = 0; t < 8; t++) ws[r * BK + kk + t] = v[t];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    op.run(X_, W_, acc);
    // The next slice overwrites the tiles the matmul reads.
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }

  const qgemm_mpp_store<Y> store{y, p.n};
  mpp_acc_store(acc, int(row0), int(col0), int(p.m), int(p.n), store);
}

instantiate_qg_fmt(qgemm_mpp)
