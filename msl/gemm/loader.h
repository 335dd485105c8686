// gemm building block: a cooperative tile loader, device → threadgroup memory.
//
// Copies a ROWS × COLS block of a row-major device matrix (leading dimension `ld`, the block
// at (row0, col0)) into threadgroup memory laid out [ROWS][COLS + PAD], keeping the device
// orientation so consecutive threads read consecutive addresses (coalesced). A transposed
// operand is loaded the same way, in its stored orientation; the MMA reads it through
// strides. Elements past (rows, cols), the matrix's extent, are written as zero, so ragged
// edges of M, N and K contribute exact zeros to the products.
#pragma once
#include <metal_stdlib>
using namespace metal;

// The operand as stored (the plain gemm): each staged element is the device element.
struct GemmPlainOperand {
  template <typename T>
  inline T operator()(T v, uint, uint) const { return v; }
};

// `op(v, row, col)` maps each in-range device element (at its stored row and column) to the
// staged value: GemmPlainOperand, or gemm/norm_operand.h's normalised operand.
template <typename T, int ROWS, int COLS, int PAD, int THREADS>
struct GemmTileLoader {
  static constexpr int LD = COLS + PAD;  // threadgroup leading dimension
  static constexpr int ELEMS = ROWS * COLS;

  // True when the block lies wholly inside the matrix (the unguarded path).
  static inline bool inside(uint row0, uint col0, uint rows, uint cols) {
    return row0 + ROWS <= rows && col0 + COLS <= cols;
  }

  template <typename Op = GemmPlainOperand>
  static inline void load(threadgroup T* dst, device const T* src, uint ld, uint row0, uint col0, uint rows,
                          uint cols, uint tid, Op op = Op()) {
    if (inside(row0, col0, rows, cols)) {
      for (int e = int(tid); e < ELEMS; e += THREADS) {
        const int r = e / COLS, c = e % COLS;
        dst[r * LD + c] = op(src[ulong(row0 + r) * ld + col0 + c], row0 + r, col0 + c);
      }
    } else {
      for (int e = int(tid); e < ELEMS; e += THREADS) {
        const int r = e / COLS, c = e % COLS;
        const uint gr = row0 + r, gc = col0 + c;
        dst[r * LD + c] = (gr < rows && gc < cols) ? op(src[ulong(gr) * ld + gc], gr, gc) : T(0);
      }
    }
  }
};
