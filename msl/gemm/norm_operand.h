// gemm building block: a normalised operand (fused_norm_lora). The operand x, stored
// [rows, cols] row-major, is staged as n = (x·rs[row])·g[col] in f32, rounded once to T,
// and zeroed where the LoRA dropout mask drops element row·cols + col (thr ≠ 0; the mask of
// src/ops/fused_lora_forward/dropout.ts, hash as msl/lora/lora.metal). The normalised
// activations are formed in the tile load and never written to memory.
#pragma once
#include <metal_stdlib>
using namespace metal;

// Same fields, in order, as NORM_PARAMS in src/backend/metal/launchers/fused_norm_lora.ts.
struct GemmNormParams {
  uint cols;      // the operand's stored row length (the mask's element index)
  uint thr;       // ⌊p·2^32⌋: hashes below it are dropped (0: none)
  uint seed_mix;  // mix32(seed)
};

// lowbias32 (Chris Wellons' hash-prospector), as lora_mix32 in msl/lora/lora.metal.
inline uint gemm_norm_mix32(uint x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  return x ^ (x >> 16);
}

template <typename T>
struct GemmNormOperand {
  device const float* rs;  // per stored row (rstd)
  device const T* g;       // per stored column (γ)
  uint cols;
  uint thr;
  uint seed_mix;
  // Called for in-range elements only (gemm/loader.h): row < rows, col < cols.
  inline T operator()(T v, uint row, uint col) const {
    if (thr != 0 && gemm_norm_mix32((row * cols + col) ^ seed_mix) < thr) return T(0);
    return T((float(v) * rs[row]) * float(g[col]));
  }
};
