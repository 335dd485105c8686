// pmetal stand-in <metal_stdlib>: barriers, SIMD-group functions (32 lanes), simdgroup_matrix,
// atomics, and the glue the runtime's rewrite step targets (threadgroup variables, function
// constants, kernel argument binding). Every collective is a rendezvous of fibers keyed by its
// call site (__builtin_LINE/__builtin_COLUMN of the call).
#pragma once
#include "math.h"
#include "rt.h"

#define PM_SITE_PARAMS \
  const char *__pm_file = __builtin_FILE(), int __pm_line = __builtin_LINE(), int __pm_col = __builtin_COLUMN()
#define PM_SITE_ARGS __pm_file, __pm_line, __pm_col

namespace metal {

enum class mem_flags : int {
  mem_none = 0,
  mem_device = 1,
  mem_threadgroup = 2,
  mem_texture = 4,
  mem_threadgroup_imageblock = 8,
  mem_object_data = 16,
};
inline constexpr mem_flags operator|(mem_flags a, mem_flags b) { return (mem_flags)((int)a | (int)b); }
inline constexpr mem_flags operator&(mem_flags a, mem_flags b) { return (mem_flags)((int)a & (int)b); }

enum memory_order {
  memory_order_relaxed = 0,
  memory_order_acquire = 2,
  memory_order_release = 3,
  memory_order_acq_rel = 4,
  memory_order_seq_cst = 5,
};
enum thread_scope { thread_scope_thread, thread_scope_simdgroup, thread_scope_threadgroup, thread_scope_device };

inline void threadgroup_barrier(mem_flags = mem_flags::mem_none, PM_SITE_PARAMS) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  ::pmetal::rt::barrier("threadgroup_barrier", PM_SITE_ARGS);
}
inline void atomic_thread_fence(mem_flags, memory_order = memory_order_seq_cst, thread_scope = thread_scope_device) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

// ---------------------------------------------------------------- SIMD-group functions
namespace __pm_simd {
using ::pmetal::rt::SimdView;
inline int lowest(uint32_t m) { return __builtin_ctz(m); }
template <class T> inline const T& in(SimdView& v, int l) { return *(const T*)v.in[l]; }
template <class T> inline const T& in2(SimdView& v, int l) { return *(const T*)v.in2[l]; }
template <class T> inline void out(SimdView& v, int l, const T& x) { *(T*)v.out[l] = x; }

template <class T> inline T opmax(T a, T b) { return ::metal::max(a, b); }
template <class T> inline T opmin(T a, T b) { return ::metal::min(a, b); }

enum RedOp { SUM, PRODUCT, MAX, MIN, AND, OR, XOR };
template <RedOp O, class T> inline T combine(T a, T b) {
  if constexpr (O == SUM) return a + b;
  else if constexpr (O == PRODUCT) return a * b;
  else if constexpr (O == MAX) return opmax(a, b);
  else if constexpr (O == MIN) return opmin(a, b);
  else if constexpr (O == AND) return a & b;
  else if constexpr (O == OR) return a | b;
  else return a ^ b;
}
template <RedOp O, class T> void reduce(SimdView& v) {
  uint32_t m = v.active;
  int f = lowest(m);
  T acc = in<T>(v, f);
  for (int l = f + 1; l < 32; l++)
    if (m >> l & 1) acc = combine<O, T>(acc, in<T>(v, l));
  for (int l = 0; l < 32; l++)
    if (m >> l & 1) out<T>(v, l, acc);
}
template <RedOp O, class T, bool Inclusive> void prefix(SimdView& v) {
  uint32_t m = v.active;
  bool have = false;
  T acc{};
  for (int l = 0; l < 32; l++) {
    if (!(m >> l & 1)) continue;
    T x = in<T>(v, l);
    if (Inclusive) {
      acc = have ? combine<O, T>(acc, x) : x;
      out<T>(v, l, acc);
    } else {
      if (have) out<T>(v, l, acc);
      else out<T>(v, l, O == SUM ? T(0) : T(1));
      acc = have ? combine<O, T>(acc, x) : x;
    }
    have = true;
  }
}
// lane l reads from source lane src(l, arg); a lane outside the group or inactive keeps its value
template <class T> void shuffle_idx(SimdView& v) {  // arg = source lane
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    uint32_t s = (uint32_t)v.arg[l];
    out<T>(v, l, (s < 32 && (v.active >> s & 1)) ? in<T>(v, s) : in<T>(v, l));
  }
}
template <class T> void shuffle_up(SimdView& v) {
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    int s = l - (int)v.arg[l];
    out<T>(v, l, (s >= 0 && (v.active >> s & 1)) ? in<T>(v, s) : in<T>(v, l));
  }
}
template <class T> void shuffle_down(SimdView& v) {
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    int s = l + (int)v.arg[l];
    out<T>(v, l, (s < 32 && (v.active >> s & 1)) ? in<T>(v, s) : in<T>(v, l));
  }
}
template <class T> void shuffle_xor(SimdView& v) {
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    int s = l ^ (int)(v.arg[l] & 31);
    out<T>(v, l, (v.active >> s & 1) ? in<T>(v, s) : in<T>(v, l));
  }
}
template <class T> void rotate_up(SimdView& v) {
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    int s = (l - (int)(v.arg[l] % 32) + 32) % 32;
    out<T>(v, l, (v.active >> s & 1) ? in<T>(v, s) : in<T>(v, l));
  }
}
template <class T> void rotate_down(SimdView& v) {
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    int s = (l + (int)(v.arg[l] % 32)) % 32;
    out<T>(v, l, (v.active >> s & 1) ? in<T>(v, s) : in<T>(v, l));
  }
}
// arg = delta | (modulo << 16); modulo 0 means 32
template <class T> void fill_up(SimdView& v) {
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    int delta = (int)(v.arg[l] & 0xffff), mod = (int)(v.arg[l] >> 16);
    if (mod <= 0 || mod > 32) mod = 32;
    int j = l % mod, base = l - j;
    int s;
    bool fill = j < delta;
    s = fill ? base + mod - delta + j : base + j - delta;
    if (s < 0 || s >= 32 || !(v.active >> s & 1)) {
      out<T>(v, l, in<T>(v, l));
      continue;
    }
    out<T>(v, l, fill ? in2<T>(v, s) : in<T>(v, s));
  }
}
template <class T> void fill_down(SimdView& v) {
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    int delta = (int)(v.arg[l] & 0xffff), mod = (int)(v.arg[l] >> 16);
    if (mod <= 0 || mod > 32) mod = 32;
    int j = l % mod, base = l - j;
    bool fill = j + delta >= mod;
    int s = fill ? base + j + delta - mod : base + j + delta;
    if (s < 0 || s >= 32 || !(v.active >> s & 1)) {
      out<T>(v, l, in<T>(v, l));
      continue;
    }
    out<T>(v, l, fill ? in2<T>(v, s) : in<T>(v, s));
  }
}
template <class T> void broadcast_first(SimdView& v) {
  int f = lowest(v.active);
  T x = in<T>(v, f);
  for (int l = 0; l < 32; l++)
    if (v.active >> l & 1) out<T>(v, l, x);
}
inline void active_mask(SimdView& v) {
  for (int l = 0; l < 32; l++)
    if (v.active >> l & 1) out<uint64_t>(v, l, (uint64_t)v.active);
}
inline void ballot(SimdView& v) {
  uint64_t b = 0;
  for (int l = 0; l < 32; l++)
    if ((v.active >> l & 1) && in<bool>(v, l)) b |= 1ull << l;
  for (int l = 0; l < 32; l++)
    if (v.active >> l & 1) out<uint64_t>(v, l, b);
}
inline void nop(SimdView&) {}
inline void vote_all(SimdView& v) {
  bool a = true;
  for (int l = 0; l < 32; l++)
    if (v.active >> l & 1) a = a && in<bool>(v, l);
  for (int l = 0; l < 32; l++)
    if (v.active >> l & 1) out<bool>(v, l, a);
}

template <class T, class R = T>
inline R call(const T& x, ::pmetal::rt::SimdCompute fn, uint64_t arg, const char* what, const char* file,
              int line, int col, const T* x2 = nullptr) {
  R r;
  ::pmetal::rt::simd_collective(&x, x2, &r, arg, fn, what, file, line, col);
  return r;
}
}  // namespace __pm_simd

struct simd_vote {
  typedef uint64_t vote_t;
  vote_t v;
  explicit constexpr simd_vote(vote_t x = 0) : v(x) {}
  explicit operator vote_t() const { return v; }
  bool all() const;
  bool any() const { return v != 0; }
};

#define PM_SIMD_RED(name, OP)                                                                  \
  template <class T> inline T name(T x, PM_SITE_PARAMS) {                                      \
    return __pm_simd::call<T>(x, &__pm_simd::reduce<__pm_simd::OP, T>, 0, #name, PM_SITE_ARGS); \
  }
PM_SIMD_RED(simd_sum, SUM)
PM_SIMD_RED(simd_product, PRODUCT)
PM_SIMD_RED(simd_max, MAX)
PM_SIMD_RED(simd_min, MIN)
PM_SIMD_RED(simd_and, AND)
PM_SIMD_RED(simd_or, OR)
PM_SIMD_RED(simd_xor, XOR)
#undef PM_SIMD_RED
#define PM_SIMD_PREFIX(name, OP, INCL)                                                                  \
  template <class T> inline T name(T x, PM_SITE_PARAMS) {                                               \
    return __pm_simd::call<T>(x, &__pm_simd::prefix<__pm_simd::OP, T, INCL>, 0, #name, PM_SITE_ARGS);   \
  }
PM_SIMD_PREFIX(simd_prefix_inclusive_sum, SUM, true)
PM_SIMD_PREFIX(simd_prefix_exclusive_sum, SUM, false)
PM_SIMD_PREFIX(simd_prefix_inclusive_product, PRODUCT, true)
PM_SIMD_PREFIX(simd_prefix_exclusive_product, PRODUCT, false)
#undef PM_SIMD_PREFIX

template <class T> inline T simd_broadcast(T x, ushort lane, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::shuffle_idx<T>, lane, "simd_broadcast", PM_SITE_ARGS);
}
template <class T> inline T simd_shuffle(T x, ushort lane, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::shuffle_idx<T>, lane, "simd_shuffle", PM_SITE_ARGS);
}
template <class T> inline T simd_broadcast_first(T x, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::broadcast_first<T>, 0, "simd_broadcast_first", PM_SITE_ARGS);
}
template <class T> inline T simd_shuffle_up(T x, ushort delta, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::shuffle_up<T>, delta, "simd_shuffle_up", PM_SITE_ARGS);
}
template <class T> inline T simd_shuffle_down(T x, ushort delta, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::shuffle_down<T>, delta, "simd_shuffle_down", PM_SITE_ARGS);
}
template <class T> inline T simd_shuffle_xor(T x, ushort mask, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::shuffle_xor<T>, mask, "simd_shuffle_xor", PM_SITE_ARGS);
}
template <class T> inline T simd_shuffle_rotate_up(T x, ushort delta, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::rotate_up<T>, delta, "simd_shuffle_rotate_up", PM_SITE_ARGS);
}
template <class T> inline T simd_shuffle_rotate_down(T x, ushort delta, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::rotate_down<T>, delta, "simd_shuffle_rotate_down", PM_SITE_ARGS);
}
template <class T> inline T simd_shuffle_and_fill_up(T x, T fill, ushort delta, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::fill_up<T>, delta, "simd_shuffle_and_fill_up", PM_SITE_ARGS, &fill);
}
template <class T> inline T simd_shuffle_and_fill_up(T x, T fill, ushort delta, ushort modulo, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::fill_up<T>, (uint64_t)delta | ((uint64_t)modulo << 16),
                            "simd_shuffle_and_fill_up", PM_SITE_ARGS, &fill);
}
template <class T> inline T simd_shuffle_and_fill_down(T x, T fill, ushort delta, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::fill_down<T>, delta, "simd_shuffle_and_fill_down", PM_SITE_ARGS, &fill);
}
template <class T> inline T simd_shuffle_and_fill_down(T x, T fill, ushort delta, ushort modulo, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::fill_down<T>, (uint64_t)delta | ((uint64_t)modulo << 16),
                            "simd_shuffle_and_fill_down", PM_SITE_ARGS, &fill);
}
inline simd_vote simd_ballot(bool b, PM_SITE_PARAMS) {
  return simd_vote(__pm_simd::call<bool, uint64_t>(b, &__pm_simd::ballot, 0, "simd_ballot", PM_SITE_ARGS));
}
inline simd_vote simd_active_threads_mask(PM_SITE_PARAMS) {
  bool b = true;
  return simd_vote(__pm_simd::call<bool, uint64_t>(b, &__pm_simd::active_mask, 0, "simd_active_threads_mask", PM_SITE_ARGS));
}
inline bool simd_all(bool b, PM_SITE_PARAMS) {
  return __pm_simd::call<bool, bool>(b, &__pm_simd::vote_all, 0, "simd_all", PM_SITE_ARGS);
}
inline bool simd_any(bool b, PM_SITE_PARAMS) {
  return __pm_simd::call<bool, uint64_t>(b, &__pm_simd::ballot, 0, "simd_any", PM_SITE_ARGS) != 0;
}
inline bool simd_is_first(PM_SITE_PARAMS) {
  bool b = true;
  uint64_t act = __pm_simd::call<bool, uint64_t>(b, &__pm_simd::active_mask, 0, "simd_is_first", PM_SITE_ARGS);
  return (uint32_t)__builtin_ctzll(act) == ::pmetal::rt::cur_thread()->tiisg;
}
inline void simdgroup_barrier(mem_flags = mem_flags::mem_none, PM_SITE_PARAMS) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  bool b = true;
  (void)__pm_simd::call<bool, uint64_t>(b, &__pm_simd::active_mask, 0, "simdgroup_barrier", PM_SITE_ARGS);
}
inline bool simd_vote::all() const {
  return v == (uint64_t)((1ull << ::pmetal::rt::cur_thread()->sg_lanes) - 1) || v == 0xffffffffull;
}

// quad-group functions (groups of 4 lanes within the SIMD-group)
namespace __pm_simd {
template <RedOp O, class T> void quad_reduce(SimdView& v) {
  for (int q = 0; q < 32; q += 4) {
    bool have = false;
    T acc{};
    for (int l = q; l < q + 4; l++)
      if (v.active >> l & 1) { acc = have ? combine<O, T>(acc, in<T>(v, l)) : in<T>(v, l); have = true; }
    for (int l = q; l < q + 4; l++)
      if (v.active >> l & 1) out<T>(v, l, acc);
  }
}
template <class T> void quad_shuffle_idx(SimdView& v) {
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    int s = (l & ~3) | (int)(v.arg[l] & 3);
    out<T>(v, l, (v.active >> s & 1) ? in<T>(v, s) : in<T>(v, l));
  }
}
template <class T> void quad_shuffle_xor(SimdView& v) {
  for (int l = 0; l < 32; l++) {
    if (!(v.active >> l & 1)) continue;
    int s = l ^ (int)(v.arg[l] & 3);
    out<T>(v, l, (v.active >> s & 1) ? in<T>(v, s) : in<T>(v, l));
  }
}
}  // namespace __pm_simd
template <class T> inline T quad_sum(T x, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::quad_reduce<__pm_simd::SUM, T>, 0, "quad_sum", PM_SITE_ARGS);
}
template <class T> inline T quad_max(T x, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::quad_reduce<__pm_simd::MAX, T>, 0, "quad_max", PM_SITE_ARGS);
}
template <class T> inline T quad_min(T x, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::quad_reduce<__pm_simd::MIN, T>, 0, "quad_min", PM_SITE_ARGS);
}
template <class T> inline T quad_broadcast(T x, ushort lane, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::quad_shuffle_idx<T>, lane, "quad_broadcast", PM_SITE_ARGS);
}
template <class T> inline T quad_shuffle(T x, ushort lane, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::quad_shuffle_idx<T>, lane, "quad_shuffle", PM_SITE_ARGS);
}
template <class T> inline T quad_shuffle_xor(T x, ushort mask, PM_SITE_PARAMS) {
  return __pm_simd::call<T>(x, &__pm_simd::quad_shuffle_xor<T>, mask, "quad_shuffle_xor", PM_SITE_ARGS);
}

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

// ---------------------------------------------------------------- atomics
template <class T> struct atomic {
  T __v;
};
typedef atomic<int> atomic_int;
typedef atomic<uint> atomic_uint;
typedef atomic<bool> atomic_bool;
typedef atomic<float> atomic_float;
typedef atomic<ulong> atomic_ulong;
typedef atomic<long> atomic_long;

template <class T, class U> inline void atomic_store_explicit(volatile atomic<T>* o, U v, memory_order = memory_order_relaxed) {
  T x = (T)v;
  __atomic_store((T*)&o->__v, &x, __ATOMIC_SEQ_CST);
}
template <class T> inline T atomic_load_explicit(const volatile atomic<T>* o, memory_order = memory_order_relaxed) {
  T x;
  __atomic_load((T*)&o->__v, &x, __ATOMIC_SEQ_CST);
  return x;
}
template <class T, class U> inline T atomic_exchange_explicit(volatile atomic<T>* o, U v, memory_order = memory_order_relaxed) {
  T x = (T)v, r;
  __atomic_exchange((T*)&o->__v, &x, &r, __ATOMIC_SEQ_CST);
  return r;
}
template <class T, class U>
inline bool atomic_compare_exchange_weak_explicit(volatile atomic<T>* o, T* expected, U desired,
                                                  memory_order = memory_order_relaxed, memory_order = memory_order_relaxed) {
  T d = (T)desired;
  return __atomic_compare_exchange((T*)&o->__v, expected, &d, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
template <class T, class U>
inline bool atomic_compare_exchange_strong_explicit(volatile atomic<T>* o, T* expected, U desired,
                                                    memory_order = memory_order_relaxed, memory_order = memory_order_relaxed) {
  return atomic_compare_exchange_weak_explicit(o, expected, desired);
}
namespace __pm_atomic {
template <class T, class F> inline T rmw(volatile atomic<T>* o, F f) {
  T old;
  __atomic_load((T*)&o->__v, &old, __ATOMIC_RELAXED);
  for (;;) {
    T nv = f(old);
    if (__atomic_compare_exchange((T*)&o->__v, &old, &nv, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) return old;
  }
}
}  // namespace __pm_atomic
#define PM_ATOMIC_RMW(name, expr)                                                                   \
  template <class T, class U> inline T atomic_fetch_##name##_explicit(volatile atomic<T>* o, U v_,  \
                                                                      memory_order = memory_order_relaxed) { \
    T v = (T)v_;                                                                                    \
    return __pm_atomic::rmw(o, [&](T a) -> T { return (T)(expr); });                                \
  }
PM_ATOMIC_RMW(add, a + v)
PM_ATOMIC_RMW(sub, a - v)
PM_ATOMIC_RMW(and, a & v)
PM_ATOMIC_RMW(or, a | v)
PM_ATOMIC_RMW(xor, a ^ v)
PM_ATOMIC_RMW(max, (v > a ? v : a))
PM_ATOMIC_RMW(min, (v < a ? v : a))
#undef PM_ATOMIC_RMW
// non-explicit spellings
template <class T, class U> inline T atomic_fetch_add(volatile atomic<T>* o, U v) { return atomic_fetch_add_explicit(o, v); }
template <class T> inline T atomic_load(const volatile atomic<T>* o) { return atomic_load_explicit(o); }
template <class T, class U> inline void atomic_store(volatile atomic<T>* o, U v) { atomic_store_explicit(o, v); }

}  // namespace metal

// ---------------------------------------------------------------- glue used by the rewrite step
namespace pmetal {
namespace rt {
template <class T> inline T& tg(int site, const char* name, int line) {
  return *static_cast<T*>(tg_var(sizeof(T), alignof(T) < 16 ? 16 : alignof(T), site, name, line));
}
template <class T> inline T fc(int index) {
  if constexpr (std::is_same<T, bool>::value || std::is_integral<T>::value) return (T)fc_int(index);
  else return (T)fc_float(index);
}

template <class P> inline P __pos(const uint32_t* v) {
  if constexpr (__pm_vt<P>::is_vec) {
    P r;
    for (int i = 0; i < __pm_vt<P>::N; i++) r[i] = (typename __pm_vt<P>::E)v[i];
    return r;
  } else {
    return (P)v[0];
  }
}
template <class P> inline P __pos1(uint32_t v) {
  if constexpr (__pm_vt<P>::is_vec) {
    P r;
    for (int i = 0; i < __pm_vt<P>::N; i++) r[i] = (typename __pm_vt<P>::E)(i == 0 ? v : 0);
    return r;
  } else {
    return (P)v;
  }
}
template <class P> inline P get_arg(const ParamSpec& s) {
  if constexpr (std::is_pointer<P>::value) {
    void* p = s.kind == PK_BUFFER ? buffer_ptr(s.index) : s.kind == PK_THREADGROUP ? tg_param_ptr(s.index) : nullptr;
    if (!p && s.kind != PK_BUFFER && s.kind != PK_THREADGROUP) kernel_error("BAD_ARGUMENT", "pointer parameter without [[buffer(n)]] or [[threadgroup(n)]]");
    return reinterpret_cast<P>(p);
  } else if constexpr (std::is_reference<P>::value) {
    void* p = s.kind == PK_BUFFER ? buffer_ptr(s.index) : s.kind == PK_THREADGROUP ? tg_param_ptr(s.index) : nullptr;
    if (!p) kernel_error("BAD_ARGUMENT", "reference parameter without a bound buffer");
    return *reinterpret_cast<std::remove_reference_t<P>*>(p);
  } else {
    using V = std::remove_cv_t<P>;
    ThreadInfo* t = cur_thread();
    switch (s.kind) {
      case PK_TPIG: return __pos<V>(t->tpig);
      case PK_TPITG: return __pos<V>(t->tpitg);
      case PK_TGPIG: return __pos<V>(t->tgpig);
      case PK_TPTG: return __pos<V>(t->tptg);
      case PK_TGPG: return __pos<V>(t->tgpg);
      case PK_TPG: return __pos<V>(t->tpg);
      case PK_TIITG: return __pos1<V>(t->tiitg);
      case PK_TIISG: return __pos1<V>(t->tiisg);
      case PK_SGIITG: return __pos1<V>(t->sgiitg);
      case PK_TPSG: return __pos1<V>(t->tpsg);
      case PK_SGPTG: return __pos1<V>(t->sgptg);
      case PK_TEW: return __pos1<V>(32);
      default: {
        // a by-value parameter bound to a buffer (setBytes of a small value)
        void* p = s.kind == PK_BUFFER ? buffer_ptr(s.index) : nullptr;
        if (!p) kernel_error("BAD_ARGUMENT", "parameter without a binding attribute");
        return *reinterpret_cast<V*>(p);
      }
    }
  }
}
template <class... P, size_t... I>
inline void __invoke(void (*f)(P...), const ParamSpec* s, std::index_sequence<I...>) {
  f(get_arg<P>(s[I])...);
}
template <class... P>
inline void invoke(void (*f)(P...), const ParamSpec* s) {
  __invoke(f, s, std::index_sequence_for<P...>{});
}
}  // namespace rt
}  // namespace pmetal
