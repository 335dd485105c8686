// gemm, Metal 3 tier: y = alpha·op(A)·op(B) + beta·C + bias, f32 accumulation in
// simdgroup_matrix<float, 8, 8> (MLX steel-gemm style).
//
// Grid: (ceil(N/BN), ceil(M/BM), batch) threadgroups of WM·WN SIMD-groups (32·WM·WN threads).
// Per K step every thread helps stage a BM×BK slice of A and a BK×BN slice of B into
// threadgroup memory (zero-padded past M, N, K; transposed operands staged in their stored
// orientation), then each SIMD-group multiply-accumulates its sub-tile; two barriers per
// step, reached by every thread (no early return). The epilogue writes each lane's own
// accumulator elements with guarded stores (ragged M and N).
//
// Buffers: 0 a, 1 b, 2 c (gemm_has_c), 3 bias (gemm_has_bias), 4 y, 5 GemmParams.
#pragma once
#include "gemm/epilogue.h"
#include "gemm/loader.h"
#include "gemm/mma.h"
#include "gemm/params.h"

// Threadgroup bytes of the staged slices (A_ROWS·LD_A + B_ROWS·LD_B elements of T), for the
// kernels that declare them (threadgroup arrays live in kernel scope).
template <typename T, bool TA, bool TB, int BM, int BN, int BK>
struct GemmSmem {
  static constexpr int PAD = 16 / int(sizeof(T));
  static constexpr int A = (TA ? BK : BM) * ((TA ? BM : BK) + PAD);
  static constexpr int B = (TB ? BN : BK) * ((TB ? BK : BN) + PAD);
};

// The kernel body over staged slices As, Bs (GemmSmem's sizes); opA / opB map each loaded
// element (gemm/loader.h), so a fused kernel (gemm/norm_operand.h) shares this body.
template <typename T, typename U, bool TA, bool TB, int BM, int BN, int BK, int WM, int WN, typename OpA, typename OpB>
inline void gemm_tile(device const T* a, device const T* b, device const U* c, device const U* bias, device U* y,
                      constant GemmParams& p, threadgroup T* As, threadgroup T* Bs, uint3 tg, ushort tid, ushort sg,
                      ushort lane, OpA opA, OpB opB) {
  constexpr int THREADS = WM * WN * 32;
  // 16 bytes of padding per threadgroup row spreads the strided fragment reads over banks.
  constexpr int PAD = 16 / int(sizeof(T));
  // A is M×K (leading dimension K) or, transposed, stored K×M (leading dimension M).
  constexpr int A_ROWS = TA ? BK : BM, A_COLS = TA ? BM : BK;
  constexpr int B_ROWS = TB ? BN : BK, B_COLS = TB ? BK : BN;
  using LoadA = GemmTileLoader<T, A_ROWS, A_COLS, PAD, THREADS>;
  using LoadB = GemmTileLoader<T, B_ROWS, B_COLS, PAD, THREADS>;
  // Element strides of op(A)(m, k) and op(B)(k, n) in the staged tiles.
  constexpr int a_sm = TA ? 1 : LoadA::LD, a_sk = TA ? LoadA::LD : 1;
  constexpr int b_sk = TB ? 1 : LoadB::LD, b_sn = TB ? LoadB::LD : 1;

  const uint M = p.m, N = p.n, K = p.k;
  const uint row0 = tg.y * BM, col0 = tg.x * BN;
  a += ulong(tg.z) * p.a_bstride;
  b += ulong(tg.z) * p.b_bstride;
  const ulong ybase = ulong(tg.z) * M * N;

  GemmBlockMMA<BM, BN, BK, WM, WN> mma(sg, lane);
  for (uint k0 = 0; k0 < K; k0 += BK) {
    if (TA) LoadA::load(As, a, M, k0, row0, K, M, tid, opA);
    else LoadA::load(As, a, K, row0, k0, M, K, tid, opA);
    if (TB) LoadB::load(Bs, b, K, col0, k0, N, K, tid, opB);
    else LoadB::load(Bs, b, N, k0, col0, K, N, tid, opB);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    mma.template mma<T, a_sm, a_sk, b_sk, b_sn>(As, Bs);
    threadgroup_barrier(mem_flags::mem_threadgroup);
  }

  // Epilogue: each lane stores the two elements it owns of every accumulator fragment.
  for (int i = 0; i < mma.TM; i++) {
    const uint row = row0 + mma.sm + i * 8 + mma.f.row;
    if (row >= M) continue;
    for (int j = 0; j < mma.TN; j++) {
      const uint col = col0 + mma.sn + j * 8 + mma.f.col;
      const auto e = mma.acc[i][j].thread_elements();
      if (col < N) gemm_store_element<U>(e[0], y, c, bias, p, ybase + ulong(row) * N + col, col);
      if (col + 1 < N) gemm_store_element<U>(e[1], y, c, bias, p, ybase + ulong(row) * N + col + 1, col + 1);
    }
  }
}

template <typename T, typename U, bool TA, bool TB, int BM, int BN, int BK, int WM, int WN>
[[kernel]] void gemm(
    device const T* a [[buffer(0)]],
    device const T* b [[buffer(1)]],
    device const U* c [[buffer(2), function_constant(gemm_has_c)]],
    device const U* bias [[buffer(3), function_constant(gemm_has_bias)]],
    device U* y [[buffer(4)]],
    constant GemmParams& p [[buffer(5)]],
    uint3 tg [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort sg [[simdgroup_index_in_threadgroup]],
    ushort lane [[thread_index_in_simdgroup]]) {
  using S = GemmSmem<T, TA, TB, BM, BN, BK>;
  threadgroup T As[S::A];
  threadgroup T Bs[S::B];
  gemm_tile<T, U, TA, TB, BM, BN, BK, WM, WN>(a, b, c, bias, y, p, As, Bs, tg, tid, sg, lane, GemmPlainOperand(), GemmPlainOperand());
}
