// gemm at decode sizes, Metal 3 tier: y = alpha·a·bᵀ [+ beta·c] [+ bias] with a [M, K] (M ≤
// GEMV_MAX_M) and b stored [N, K] (transB) — a decode step's projections, where a 32×32 tile
// would compute 32 rows of y to keep one. b is streamed once: a threadgroup of 8 SIMD-groups,
// SIMD-group g owning column tg.x·8 + g (one contiguous row of b); its 32 lanes stride along K
// in runs of 8 elements (a SIMD-group reads 512 contiguous bytes of a 16-bit row per run), each
// run converted once and folded into every row of a; then simd_sum per row and gemm's
// epilogue (gemm/epilogue.h: alpha, beta·c, bias, one rounding to U). f32 accumulation in any
// order is what the bound of src/ops/gemm/spec.ts counts. Batches over tg.z with gemm's
// element strides (0: a rank-2 operand broadcast). Named gemv_<input>_<output>.
#include <metal_stdlib>
#include "gemm/epilogue.h"
using namespace metal;

constant constexpr uint GEMV_MAX_M = 16;

template <typename T, typename U>
[[kernel]] void gemv(device const T* a [[buffer(0)]],
                     device const T* b [[buffer(1)]],
                     device const U* c [[buffer(2), function_constant(gemm_has_c)]],
                     device const U* bias [[buffer(3), function_constant(gemm_has_bias)]],
                     device U* y [[buffer(4)]],
                     constant GemmParams& p [[buffer(5)]],
                     uint3 tg [[threadgroup_position_in_grid]],
                     uint sg [[simdgroup_index_in_threadgroup]],
                     uint lane [[thread_index_in_simdgroup]]) {
  const uint col = tg.x * 8 + sg;
  a += ulong(tg.z) * p.a_bstride;
  b += ulong(tg.z) * p.b_bstride;
  float acc[GEMV_MAX_M];
  for (uint i = 0; i < GEMV_MAX_M; i++) acc[i] = 0.0f;
  // col is the same for the whole SIMD-group: the branch and the simd_sum below are uniform.
  if (col < p.n) {
    device const T* br = b + ulong(col) * p.k;
    const uint runs = p.k / 8;
    for (uint r = lane; r < runs; r += 32) {
      float w[8];
      for (uint t = 0; t < 8; t++) w[t] = float(br[r * 8 + t]);
      for (uint i = 0; i < GEMV_MAX_M; i++) {
        if (i < p.m) {
          device const T* ar = a + ulong(i) * p.k + r * 8;
          float s = 0.0f;
          for (uint t = 0; t < 8; t++) s += float(ar[t]) * w[t];
          acc[i] += s;
        }
      }
    }
    // K past the last whole run: one element a lane.
    for (uint e = runs * 8 + lane; e < p.k; e += 32) {
      const float w = float(br[e]);
      for (uint i = 0; i < GEMV_MAX_M; i++) {
        if (i < p.m) acc[i] += float(a[ulong(i) * p.k + e]) * w;
      }
    }
  }
  const ulong ybase = ulong(tg.z) * p.m * p.n;
  for (uint i = 0; i < p.m; i++) {
    const float s = simd_sum(acc[i]);
    if (lane == 0 && col < p.n) gemm_store_element<U>(s, y, c, bias, p, ybase + ulong(i) * p.n + col, col);
  }
}

// Host names are built by token pasting, then stringized once, so each is a single literal.
#define gemv_str_(x) #x
#define gemv_str(x) gemv_str_(x)
#define instantiate_gemv(tname, uname, T, U) \
  template [[host_name(gemv_str(gemv_##tname##_##uname))]] [[kernel]] decltype(gemv<T, U>) gemv<T, U>;
#define instantiate_gemv_outputs(tname, T)  \
  instantiate_gemv(tname, f32, T, float)    \
  instantiate_gemv(tname, f16, T, half)     \
  instantiate_gemv(tname, bf16, T, bfloat)

instantiate_gemv_outputs(f32, float)
instantiate_gemv_outputs(f16, half)
instantiate_gemv_outputs(bf16, bfloat)
