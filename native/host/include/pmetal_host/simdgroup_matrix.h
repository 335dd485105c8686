// pmetal stand-in <metal_stdlib>: simdgroup_matrix (8x8), load/store and multiply(-accumulate).
#pragma once
#include "sync.h"

namespace metal {

// ---------------------------------------------------------------- simdgroup_matrix
// Each lane holds a full copy of the matrix; the authoritative copy of element (r, c) is the
// one held by the lane that owns it in Apple's 8x8 layout (two adjacent elements per lane),
// which is what thread_elements() exposes. Multiplies gather from the owners at a rendezvous.
namespace __pm_mat {
inline void owner_rc(uint32_t lane, int& r, int& c) {
  uint32_t q = lane / 4;
  r = (int)((q & 4) + ((lane / 2) % 4));
  c = (int)((q & 2) * 2 + (lane % 2) * 2);
}
}  // namespace __pm_mat

template <class T, int Cols, int Rows> struct simdgroup_matrix {
  static_assert(Cols == 8 && Rows == 8, "the host runtime implements 8x8 simdgroup matrices");
  alignas(16) T __e[Rows * Cols];
  simdgroup_matrix() = default;
  explicit simdgroup_matrix(T diag) {
    for (int i = 0; i < Rows * Cols; i++) __e[i] = T(0);
    for (int i = 0; i < Rows; i++) __e[i * Cols + i] = diag;
  }
  vec<T, 2>& thread_elements() {
    int r, c;
    __pm_mat::owner_rc(::pmetal::rt::cur_thread()->tiisg, r, c);
    return *reinterpret_cast<vec<T, 2>*>(&__e[r * Cols + c]);
  }
  vec<T, 2> thread_elements() const {
    int r, c;
    __pm_mat::owner_rc(::pmetal::rt::cur_thread()->tiisg, r, c);
    return *reinterpret_cast<const vec<T, 2>*>(&__e[r * Cols + c]);
  }
};
typedef simdgroup_matrix<float, 8, 8> simdgroup_float8x8;
typedef simdgroup_matrix<half, 8, 8> simdgroup_half8x8;
typedef simdgroup_matrix<bfloat, 8, 8> simdgroup_bfloat8x8;

template <class T, int C, int R>
inline simdgroup_matrix<T, C, R> make_filled_simdgroup_matrix(T v) {
  simdgroup_matrix<T, C, R> m;
  for (int i = 0; i < C * R; i++) m.__e[i] = v;
  return m;
}
// d(r, c) = src[(origin.y + r) * epr + origin.x + c]; transposed: src[(origin.y + c) * epr + origin.x + r]
template <class T, int C, int R, class U>
inline void simdgroup_load(simdgroup_matrix<T, C, R>& d, const U* src, size_t elements_per_row = C,
                           ulong2 matrix_origin = ulong2(0), bool transpose_matrix = false) {
  const U* base = src + matrix_origin.y * elements_per_row + matrix_origin.x;
  for (int r = 0; r < R; r++)
    for (int c = 0; c < C; c++)
      d.__e[r * C + c] = (T)(transpose_matrix ? base[c * elements_per_row + r] : base[r * elements_per_row + c]);
}
template <class T, int C, int R, class U>
inline void simdgroup_store(const simdgroup_matrix<T, C, R>& a, U* dst, size_t elements_per_row = C,
                            ulong2 matrix_origin = ulong2(0), bool transpose_matrix = false) {
  ::pmetal::rt::ThreadInfo* ti = ::pmetal::rt::cur_thread();
  U* base = dst + matrix_origin.y * elements_per_row + matrix_origin.x;
  auto put = [&](int r, int c) {
    if (transpose_matrix) base[c * elements_per_row + r] = (U)a.__e[r * C + c];
    else base[r * elements_per_row + c] = (U)a.__e[r * C + c];
  };
  int r, c;
  __pm_mat::owner_rc(ti->tiisg, r, c);
  put(r, c);
  put(r, c + 1);
  if (ti->sg_lanes < 32 && ti->tiisg == 0) {  // partial SIMD-group: lane 0 stores the orphans
    for (uint32_t l = ti->sg_lanes; l < 32; l++) {
      __pm_mat::owner_rc(l, r, c);
      put(r, c);
      put(r, c + 1);
    }
  }
}
namespace __pm_mat {
template <class T, class TA, class TB, class TC> struct MacArgs {
  simdgroup_matrix<T, 8, 8>* d;
  const simdgroup_matrix<TA, 8, 8>* a;
  const simdgroup_matrix<TB, 8, 8>* b;
  const simdgroup_matrix<TC, 8, 8>* c;  // may be null
};
template <class M> inline void gather(::pmetal::rt::SimdView& v, int which, float* out) {
  int first = __builtin_ctz(v.active);
  for (uint32_t l = 0; l < 32; l++) {
    int r, c;
    owner_rc(l, r, c);
    uint32_t src = (v.active >> l & 1) ? l : (uint32_t)first;
    const M* m = which == 0 ? (const M*)((const void* const*)v.in[src])[1]
                 : which == 1 ? (const M*)((const void* const*)v.in[src])[2]
                              : (const M*)((const void* const*)v.in[src])[3];
    out[r * 8 + c] = (float)m->__e[r * 8 + c];
    out[r * 8 + c + 1] = (float)m->__e[r * 8 + c + 1];
  }
}
template <class T, class TA, class TB, class TC> void mac(::pmetal::rt::SimdView& v) {
  float A[64], B[64], Cm[64], D[64];
  gather<simdgroup_matrix<TA, 8, 8>>(v, 0, A);
  gather<simdgroup_matrix<TB, 8, 8>>(v, 1, B);
  bool hasC = ((const void* const*)v.in[__builtin_ctz(v.active)])[3] != nullptr;
  if (hasC) gather<simdgroup_matrix<TC, 8, 8>>(v, 2, Cm);
  for (int r = 0; r < 8; r++)
    for (int c = 0; c < 8; c++) {
      float s = hasC ? Cm[r * 8 + c] : 0.0f;
      for (int k = 0; k < 8; k++) s += A[r * 8 + k] * B[k * 8 + c];
      D[r * 8 + c] = s;
    }
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    auto* d = (simdgroup_matrix<T, 8, 8>*)((void* const*)v.in[l])[0];
    for (int i = 0; i < 64; i++) d->__e[i] = (T)D[i];
  }
}
}  // namespace __pm_mat
template <class T, class TA, class TB, class TC>
inline void simdgroup_multiply_accumulate(simdgroup_matrix<T, 8, 8>& d, const simdgroup_matrix<TA, 8, 8>& a,
                                          const simdgroup_matrix<TB, 8, 8>& b, const simdgroup_matrix<TC, 8, 8>& c,
                                          PM_SITE_PARAMS) {
  const void* args[4] = {&d, &a, &b, &c};
  ::pmetal::rt::simd_collective(args, nullptr, nullptr, 0, &__pm_mat::mac<T, TA, TB, TC>,
                                "simdgroup_multiply_accumulate", PM_SITE_ARGS);
}
template <class T, class TA, class TB>
inline void simdgroup_multiply(simdgroup_matrix<T, 8, 8>& d, const simdgroup_matrix<TA, 8, 8>& a,
                               const simdgroup_matrix<TB, 8, 8>& b, PM_SITE_PARAMS) {
  const void* args[4] = {&d, &a, &b, nullptr};
  ::pmetal::rt::simd_collective(args, nullptr, nullptr, 0, &__pm_mat::mac<T, TA, TB, T>, "simdgroup_multiply",
                                PM_SITE_ARGS);
}

}  // namespace metal
