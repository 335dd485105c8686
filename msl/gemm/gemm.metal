// gemm, Metal 3 tier: explicit instantiations of the kernel template in gemm/gemm.h,
// named gemm_<transposes>_<input>_<output>_bm<BM>_bn<BN>_bk<BK>:
//   transposes nn, nt (transB), tn (transA), tt; input and output f32, f16, bf16;
//   tiles 32×32×16 (2×2 SIMD-groups of 16×16) and 64×64×16 (2×2 SIMD-groups of 32×32).
// bfloat needs Metal 3.1 (macOS 14) on a Mac.
#include <metal_stdlib>
#include "gemm/gemm.h"
using namespace metal;

// Host names are built by token pasting, then stringized once, so each is a single literal.
#define gemm_str_(x) #x
#define gemm_str(x) gemm_str_(x)

#define instantiate_gemm(name, T, U, TA, TB, BM, BN, BK, WM, WN)                                \
  template [[host_name(gemm_str(name))]] [[kernel]] decltype(gemm<T, U, TA, TB, BM, BN, BK, WM, WN>) \
      gemm<T, U, TA, TB, BM, BN, BK, WM, WN>;

#define instantiate_gemm_tiles(tr, tname, uname, T, U, TA, TB)                                     \
  instantiate_gemm(gemm_##tr##_##tname##_##uname##_bm32_bn32_bk16, T, U, TA, TB, 32, 32, 16, 2, 2) \
  instantiate_gemm(gemm_##tr##_##tname##_##uname##_bm64_bn64_bk16, T, U, TA, TB, 64, 64, 16, 2, 2)

#define instantiate_gemm_transposes(tname, uname, T, U)        \
  instantiate_gemm_tiles(nn, tname, uname, T, U, false, false) \
  instantiate_gemm_tiles(nt, tname, uname, T, U, false, true)  \
  instantiate_gemm_tiles(tn, tname, uname, T, U, true, false)  \
  instantiate_gemm_tiles(tt, tname, uname, T, U, true, true)

#define instantiate_gemm_outputs(tname, T)           \
  instantiate_gemm_transposes(tname, f32, T, float)  \
  instantiate_gemm_transposes(tname, f16, T, half)   \
  instantiate_gemm_transposes(tname, bf16, T, bfloat)

instantiate_gemm_outputs(f32, float)
instantiate_gemm_outputs(f16, half)
instantiate_gemm_outputs(bf16, bfloat)
