// kv_cache_copy's conversion of a k/v element to the cache's type (msl/attention/
// kv_cache_copy.metal), shared with the kernels that write the cache in their epilogue
// (gemm/gemv_norm_qkv.metal), so a cache holds the same bits whichever kernel wrote it.
#pragma once
#include <metal_stdlib>
using namespace metal;

// S → C: the same type copies its bits; bfloat → float by its bits (exact even for a
// subnormal, which a float conversion might flush); otherwise through float (exact) and one
// rounding to C.
template <typename C, typename S>
struct KvCvt {
  static C run(S x) { return C(float(x)); }
};
template <typename T>
struct KvCvt<T, T> {
  static T run(T x) { return x; }
};
template <>
struct KvCvt<float, bfloat> {
  static float run(bfloat x) { return as_type<float>(uint(as_type<ushort>(x)) << 16); }
};
