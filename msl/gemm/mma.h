// gemm building block: the simdgroup-matrix multiply-accumulate over one threadgroup tile.
//
// A threadgroup of WM × WN SIMD-groups computes a BM × BN tile; SIMD-group (wm, wn) owns the
// (BM/WM) × (BN/WN) sub-tile at (wm·BM/WM, wn·BN/WN) as TM × TN simdgroup_float8x8
// accumulators. Fragments are read from the threadgroup tiles through element strides
// (so normal and transposed operands share the code) straight into the two elements each
// lane owns in Apple's 8×8 layout (thread_elements(): lane l holds row
// (l/4 & 4) + (l/2 % 4), columns (l/4 & 2)·2 + (l % 2)·2 and +1), converted to float: the
// multiply-accumulates run entirely in f32 whatever the input type (as MLX's steel gemm).
#pragma once
#include <metal_stdlib>
using namespace metal;

struct GemmFragCoord {
  short row;  // this lane's row in an 8×8 fragment
  short col;  // this lane's first column (it owns col and col + 1)
  static inline GemmFragCoord of(ushort lane) {
    const short q = short(lane / 4);
    GemmFragCoord f;
    f.row = short((q & 4) + ((lane / 2) % 4));
    f.col = short((q & 2) * 2 + (lane % 2) * 2);
    return f;
  }
};

template <int BM, int BN, int BK, int WM, int WN>
struct GemmBlockMMA {
  static constexpr int TM = BM / (8 * WM);  // 8×8 fragments per SIMD-group along M
  static constexpr int TN = BN / (8 * WN);  // ... along N
  static_assert(TM * 8 * WM == BM && TN * 8 * WN == BN && BK % 8 == 0, "gemm: tile shape");

  simdgroup_float8x8 acc[TM][TN];
  short sm;  // first row of this SIMD-group's sub-tile in the threadgroup tile
  short sn;  // first column
  GemmFragCoord f;

  inline GemmBlockMMA(ushort sg, ushort lane) {
    sm = short((sg / WN) * TM * 8);
    sn = short((sg % WN) * TN * 8);
    f = GemmFragCoord::of(lane);
    for (int i = 0; i < TM; i++)
      for (int j = 0; j < TN; j++) acc[i][j] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
  }

  // One BK-deep step. Element (m, k) of the A tile is As[m·a_sm + k·a_sk]; (k, n) of the B
  // tile is Bs[k·b_sk + n·b_sn].
  template <typename T, int a_sm, int a_sk, int b_sk, int b_sn>
  inline void mma(const threadgroup T* As, const threadgroup T* Bs) {
    for (int kk = 0; kk < BK; kk += 8) {
      simdgroup_float8x8 a[TM], b[TN];
      for (int i = 0; i < TM; i++) {
        const int m = sm + i * 8 + f.row, k0 = kk + f.col;
        a[i].thread_elements()[0] = float(As[m * a_sm + k0 * a_sk]);
        a[i].thread_elements()[1] = float(As[m * a_sm + (k0 + 1) * a_sk]);
      }
      for (int j = 0; j < TN; j++) {
        const int k = kk + f.row, n0 = sn + j * 8 + f.col;
        b[j].thread_elements()[0] = float(Bs[k * b_sk + n0 * b_sn]);
        b[j].thread_elements()[1] = float(Bs[k * b_sk + (n0 + 1) * b_sn]);
      }
      for (int i = 0; i < TM; i++)
        for (int j = 0; j < TN; j++) simdgroup_multiply_accumulate(acc[i][j], a[i], b[j], acc[i][j]);
    }
  }
};
