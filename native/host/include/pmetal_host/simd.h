// pmetal stand-in <metal_stdlib>: SIMD-group functions (32 lanes) and quad-group functions.
// Each call is a rendezvous of the SIMD-group's active lanes at one call site; the last lane
// to arrive runs the compute function (namespace __pm_simd) for all of them.
#pragma once
#include "sync.h"

namespace metal {

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


}  // namespace metal
