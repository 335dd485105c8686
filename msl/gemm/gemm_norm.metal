// gemm with one operand RMS-normalised as it is staged (gemm/norm_operand.h), Metal 3 tier:
// the body of gemm/gemm.h, the plain loader on the other operand. fused_norm_lora's
// products: y = n·Wᵀ and xa = drop(n)·Aᵀ (operand a, "nt") in the forward, dA = gᵀ·drop(n)
// (operand b, "tn") in the backward. Named gemm_norm_<a|b>_<transposes>_<input>_<output>_bm<BM>_bn<BN>_bk16.
// Buffers as gemm (0 a, 1 b, 2 c, 3 bias, 4 y, 5 GemmParams) + 6 rs (f32), 7 g (input type),
// 8 GemmNormParams.
#include <metal_stdlib>
#include "gemm/gemm.h"
#include "gemm/norm_operand.h"
using namespace metal;

template <typename T, typename U, bool NA, bool TA, bool TB, int BM, int BN, int BK, int WM, int WN>
[[kernel]] void gemm_norm(
    device const T* a [[buffer(0)]],
    device const T* b [[buffer(1)]],
    device const U* c [[buffer(2), function_constant(gemm_has_c)]],
    device const U* bias [[buffer(3), function_constant(gemm_has_bias)]],
    device U* y [[buffer(4)]],
    constant GemmParams& p [[buffer(5)]],
    device const float* rs [[buffer(6)]],
    device const T* g [[buffer(7)]],
    constant GemmNormParams& np [[buffer(8)]],
    uint3 tg [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort sg [[simdgroup_index_in_threadgroup]],
    ushort lane [[thread_index_in_simdgroup]]) {
  using S = GemmSmem<T, TA, TB, BM, BN, BK>;
  threadgroup T As[S::A];
  threadgroup T Bs[S::B];
  const GemmNormOperand<T> norm{rs, g, np.cols, np.thr, np.seed_mix};
  if (NA) gemm_tile<T, U, TA, TB, BM, BN, BK, WM, WN>(a, b, c, bias, y, p, As, Bs, tg, tid, sg, lane, norm, GemmPlainOperand());
  else gemm_tile<T, U, TA, TB, BM, BN, BK, WM, WN>(a, b, c, bias, y, p, As, Bs, tg, tid, sg, lane, GemmPlainOperand(), norm);
}

#define gemm_norm_str_(x) #x
#define gemm_norm_str(x) gemm_norm_str_(x)

#define instantiate_gemm_norm(name, T, U, NA, TA, TB, BM, BN)                                                   \
  template [[host_name(gemm_norm_str(name))]] [[kernel]] decltype(gemm_norm<T, U, NA, TA, TB, BM, BN, 16, 2, 2>) \
      gemm_norm<T, U, NA, TA, TB, BM, BN, 16, 2, 2>;

#define instantiate_gemm_norm_tiles(w, tr, tname, uname, T, U, NA, TA, TB)                   \
  instantiate_gemm_norm(gemm_norm_##w##_##tr##_##tname##_##uname##_bm32_bn32_bk16, T, U, NA, TA, TB, 32, 32) \
  instantiate_gemm_norm(gemm_norm_##w##_##tr##_##tname##_##uname##_bm64_bn64_bk16, T, U, NA, TA, TB, 64, 64)

// Forward: a normalised, b transposed, output f32 (xa) or the input type (y); backward: b
// normalised, a transposed, output f32 (dA).
#define instantiate_gemm_norm_dtype(tname, T)                                         \
  instantiate_gemm_norm_tiles(a, nt, tname, f32, T, float, true, false, true)         \
  instantiate_gemm_norm_tiles(b, tn, tname, f32, T, float, false, true, false)

instantiate_gemm_norm_dtype(f32, float)
instantiate_gemm_norm_dtype(f16, half)
instantiate_gemm_norm_dtype(bf16, bfloat)
instantiate_gemm_norm_tiles(a, nt, f16, f16, half, half, true, false, true)
instantiate_gemm_norm_tiles(a, nt, bf16, bf16, bfloat, bfloat, true, false, true)
