// gemm, Metal 4 tier: explicit instantiations of the kernel template in gemm/gemm_mpp.h,
// named gemm_mpp_<transposes>_<input>_<output>_bm<BM>_bn<BN>_bk<BK>:
//   transposes nn, nt (transB), tn (transA), tt; input and output f32, f16, bf16;
//   64×32 output tiles on 4 SIMD-groups, K in slices of 32 (K % 32 == 0 only).
// Needs Metal 4 (MetalPerformancePrimitives): compiled only where the chip has it.
#include <metal_stdlib>
#include "gemm/gemm_mpp.h"
using namespace metal;

// Host names are built by token pasting, then stringized once, so each is a single literal.
#define gemm_str_(x) #x
#define gemm_str(x) gemm_str_(x)

#define instantiate_gemm_mpp(name, T, U, TA, TB, BM, BN, BK, SG)                                   \
  template [[host_name(gemm_str(name))]] [[kernel]] decltype(gemm_mpp<T, U, TA, TB, BM, BN, BK, SG>) \
      gemm_mpp<T, U, TA, TB, BM, BN, BK, SG>;

#define instantiate_gemm_mpp_tiles(tr, tname, uname, T, U, TA, TB) \
  instantiate_gemm_mpp(gemm_mpp_##tr##_##tname##_##uname##_bm64_bn32_bk32, T, U, TA, TB, 64, 32, 32, 4)

#define instantiate_gemm_mpp_transposes(tname, uname, T, U)        \
  instantiate_gemm_mpp_tiles(nn, tname, uname, T, U, false, false) \
  instantiate_gemm_mpp_tiles(nt, tname, uname, T, U, false, true)  \
  instantiate_gemm_mpp_tiles(tn, tname, uname, T, U, true, false)  \
  instantiate_gemm_mpp_tiles(tt, tname, uname, T, U, true, true)

#define instantiate_gemm_mpp_outputs(tname, T)           \
  instantiate_gemm_mpp_transposes(tname, f32, T, float)  \
  instantiate_gemm_mpp_transposes(tname, f16, T, half)   \
  instantiate_gemm_mpp_transposes(tname, bf16, T, bfloat)

instantiate_gemm_mpp_outputs(f32, float)
instantiate_gemm_mpp_outputs(f16, half)
instantiate_gemm_mpp_outputs(bf16, bfloat)
