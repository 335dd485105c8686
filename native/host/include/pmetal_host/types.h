// pmetal stand-in <metal_stdlib>: scalar and vector types.
// Vectors are clang ext_vector_type (swizzles .xyzw/.rgba as lvalues, arithmetic, splats);
// MSL constructor syntax float4(a, b) is rewritten by the runtime's preprocessing step to
// ::metal::__pm_make<float4>(a, b) (clang treats float4(int4) as a bit cast otherwise).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <type_traits>
#include <utility>

typedef _Float16 half;
typedef __bf16 bfloat;
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;

#define PM_DEFVEC(T, name)                                 \
  typedef T name##2 __attribute__((ext_vector_type(2))); \
  typedef T name##3 __attribute__((ext_vector_type(3))); \
  typedef T name##4 __attribute__((ext_vector_type(4)));
PM_DEFVEC(char, char)
PM_DEFVEC(unsigned char, uchar)
PM_DEFVEC(short, short)
PM_DEFVEC(unsigned short, ushort)
PM_DEFVEC(int, int)
PM_DEFVEC(unsigned int, uint)
PM_DEFVEC(long, long)
PM_DEFVEC(unsigned long, ulong)
PM_DEFVEC(_Float16, half)
PM_DEFVEC(float, float)
PM_DEFVEC(__bf16, bfloat)
#undef PM_DEFVEC

// ---- bool vectors (ext_vector_type(bool) has no swizzles and no conversion from masks)
template <int N> struct __pm_bvec_base;
template <> struct __pm_bvec_base<2> { bool x, y; };
template <> struct __pm_bvec_base<3> { bool x, y, z; };
template <> struct __pm_bvec_base<4> { bool x, y, z, w; };

template <class T> struct __pm_vt {
  static constexpr int N = 0;
  static constexpr bool is_vec = false;
  using E = T;
};
template <class T, int N_> struct __pm_vt<T __attribute__((ext_vector_type(N_)))> {
  static constexpr int N = N_;
  static constexpr bool is_vec = true;
  using E = T;
};

template <int N> struct __pm_boolvec : __pm_bvec_base<N> {
  __pm_boolvec() = default;
  __pm_boolvec(bool b) {
    for (int i = 0; i < N; i++) (*this)[i] = b;
  }
  template <class M, std::enable_if_t<__pm_vt<M>::N == N, int> = 0>
  __pm_boolvec(M m) {
    for (int i = 0; i < N; i++) (*this)[i] = m[i] != 0;
  }
  bool& operator[](int i) { return (&this->x)[i]; }
  bool operator[](int i) const { return (&this->x)[i]; }
  __pm_boolvec operator!() const {
    __pm_boolvec r;
    for (int i = 0; i < N; i++) r[i] = !(*this)[i];
    return r;
  }
  friend __pm_boolvec operator&&(__pm_boolvec a, __pm_boolvec b) {
    __pm_boolvec r;
    for (int i = 0; i < N; i++) r[i] = a[i] && b[i];
    return r;
  }
  friend __pm_boolvec operator||(__pm_boolvec a, __pm_boolvec b) {
    __pm_boolvec r;
    for (int i = 0; i < N; i++) r[i] = a[i] || b[i];
    return r;
  }
  friend __pm_boolvec operator==(__pm_boolvec a, __pm_boolvec b) {
    __pm_boolvec r;
    for (int i = 0; i < N; i++) r[i] = a[i] == b[i];
    return r;
  }
  friend __pm_boolvec operator!=(__pm_boolvec a, __pm_boolvec b) {
    __pm_boolvec r;
    for (int i = 0; i < N; i++) r[i] = a[i] != b[i];
    return r;
  }
};
typedef __pm_boolvec<2> bool2;
typedef __pm_boolvec<3> bool3;
typedef __pm_boolvec<4> bool4;
template <int N_> struct __pm_vt<__pm_boolvec<N_>> {
  static constexpr int N = N_;
  static constexpr bool is_vec = true;
  using E = bool;
};

// ---- packed vectors: tightly packed storage, converts to/from the aligned vector
template <class T, int N> struct __pm_packed_base;
template <class T> struct __pm_packed_base<T, 2> { T x, y; };
template <class T> struct __pm_packed_base<T, 3> { T x, y, z; };
template <class T> struct __pm_packed_base<T, 4> { T x, y, z, w; };
template <class T, int N> struct __pm_packed : __pm_packed_base<T, N> {
  typedef T V __attribute__((ext_vector_type(N)));
  __pm_packed() = default;
  __pm_packed(V v) {
    for (int i = 0; i < N; i++) (*this)[i] = v[i];
  }
  template <class... A, std::enable_if_t<sizeof...(A) == N, int> = 0>
  __pm_packed(A... a) {
    T t[N] = {T(a)...};
    for (int i = 0; i < N; i++) (*this)[i] = t[i];
  }
  operator V() const {
    V v;
    for (int i = 0; i < N; i++) v[i] = (*this)[i];
    return v;
  }
  T& operator[](int i) { return (&this->x)[i]; }
  const T& operator[](int i) const { return (&this->x)[i]; }
};
template <class T, int N_> struct __pm_vt<__pm_packed<T, N_>> {
  static constexpr int N = N_;
  static constexpr bool is_vec = true;
  using E = T;
};
#define PM_DEFPACKED(T, name)              \
  typedef __pm_packed<T, 2> packed_##name##2; \
  typedef __pm_packed<T, 3> packed_##name##3; \
  typedef __pm_packed<T, 4> packed_##name##4;
PM_DEFPACKED(char, char)
PM_DEFPACKED(unsigned char, uchar)
PM_DEFPACKED(short, short)
PM_DEFPACKED(unsigned short, ushort)
PM_DEFPACKED(int, int)
PM_DEFPACKED(unsigned int, uint)
PM_DEFPACKED(_Float16, half)
PM_DEFPACKED(float, float)
PM_DEFPACKED(__bf16, bfloat)
#undef PM_DEFPACKED
template <class T> struct __pm_is_packed : std::false_type {};
template <class T, int N> struct __pm_is_packed<__pm_packed<T, N>> : std::true_type {};
#define PM_PACKED_OP(op)                                                                 \
  template <class T, int N, class U>                                                     \
  inline auto operator op(const __pm_packed<T, N>& a, const U& b) {                      \
    return (typename __pm_packed<T, N>::V)a op b;                                        \
  }                                                                                      \
  template <class T, int N, class U, std::enable_if_t<!__pm_is_packed<U>::value, int> = 0> \
  inline auto operator op(const U& a, const __pm_packed<T, N>& b) {                      \
    return a op(typename __pm_packed<T, N>::V) b;                                        \
  }
PM_PACKED_OP(+)
PM_PACKED_OP(-)
PM_PACKED_OP(*)
PM_PACKED_OP(/)
#undef PM_PACKED_OP

template <class T> struct __pm_is_scalar : std::integral_constant<bool, std::is_integral<T>::value || std::is_floating_point<T>::value> {};
template <> struct __pm_is_scalar<_Float16> : std::true_type {};
template <> struct __pm_is_scalar<__bf16> : std::true_type {};
template <class T> struct __pm_is_float : std::is_floating_point<T> {};
template <> struct __pm_is_float<_Float16> : std::true_type {};
template <> struct __pm_is_float<__bf16> : std::true_type {};

namespace metal {
template <class T, int N> struct __vec_t { typedef T type __attribute__((ext_vector_type(N))); };
template <int N> struct __vec_t<bool, N> { typedef __pm_boolvec<N> type; };
template <class T, int N> using vec = typename __vec_t<T, N>::type;
template <class T, int N> using packed_vec = __pm_packed<T, N>;

template <class E, class V, class A>
inline void __pm_put(V& r, int& k, const A& a) {
  if constexpr (__pm_vt<A>::N == 0) {
    r[k++] = (E)a;
  } else {
    for (int i = 0; i < __pm_vt<A>::N; i++) r[k++] = (E)a[i];
  }
}
// MSL vector constructors: float4(s), float4(v), float4(a, b.xy, c), half4(float4) ...
template <class V, class... A>
inline V __pm_make(const A&... a) {
  using VT = __pm_vt<V>;
  if constexpr (!VT::is_vec) {
    static_assert(sizeof...(A) <= 1, "scalar constructor takes one argument");
    if constexpr (sizeof...(A) == 0) return V{};
    else return V(a...);
  } else if constexpr (sizeof...(A) == 0) {
    V r;
    for (int i = 0; i < VT::N; i++) r[i] = typename VT::E(0);
    return r;
  } else if constexpr (sizeof...(A) == 1 && ((__pm_vt<A>::N == 0) && ...)) {
    V r;
    typename VT::E s = ((typename VT::E)a, ...);
    for (int i = 0; i < VT::N; i++) r[i] = s;
    return r;
  } else {
    static_assert(((__pm_vt<A>::N == 0 ? 1 : __pm_vt<A>::N) + ...) == VT::N,
                  "vector constructor: component count mismatch");
    V r;
    int k = 0;
    (__pm_put<typename VT::E>(r, k, a), ...);
    return r;
  }
}
}  // namespace metal

namespace metal {
using ::half;
using ::bfloat;
using ::uchar;
using ::ushort;
using ::uint;
using ::ulong;
#define PM_USEVEC(name) using ::name##2; using ::name##3; using ::name##4;
PM_USEVEC(char) PM_USEVEC(uchar) PM_USEVEC(short) PM_USEVEC(ushort) PM_USEVEC(int) PM_USEVEC(uint)
PM_USEVEC(long) PM_USEVEC(ulong) PM_USEVEC(half) PM_USEVEC(float) PM_USEVEC(bfloat) PM_USEVEC(bool)
PM_USEVEC(packed_char) PM_USEVEC(packed_uchar) PM_USEVEC(packed_short) PM_USEVEC(packed_ushort)
PM_USEVEC(packed_int) PM_USEVEC(packed_uint) PM_USEVEC(packed_half) PM_USEVEC(packed_float)
PM_USEVEC(packed_bfloat)
#undef PM_USEVEC

// type traits (MSL's <metal_type_traits> mirrors the standard ones)
using std::conditional;
using std::conditional_t;
using std::decay_t;
using std::enable_if;
using std::enable_if_t;
using std::integral_constant;
using std::is_integral;
using std::is_same;
using std::is_signed;
using std::is_unsigned;
using std::remove_const_t;
using std::remove_cv_t;
using std::remove_reference_t;
using std::true_type;
using std::false_type;
template <class T> struct is_floating_point : __pm_is_float<T> {};
template <class T> struct is_scalar : __pm_is_scalar<T> {};
template <class T> struct is_arithmetic : __pm_is_scalar<T> {};
template <class T> struct is_vector : std::integral_constant<bool, __pm_vt<T>::is_vec> {};
template <class T> struct vec_elements : std::integral_constant<int, __pm_vt<T>::N> {};
template <class A, class B> constexpr bool is_same_v = std::is_same<A, B>::value;

template <class T> struct numeric_limits;
template <> struct numeric_limits<float> {
  static constexpr bool is_specialized = true;
  static constexpr float min() { return 1.17549435e-38f; }
  static constexpr float max() { return 3.40282347e+38f; }
  static constexpr float lowest() { return -3.40282347e+38f; }
  static constexpr float epsilon() { return 1.1920929e-7f; }
  static constexpr float infinity() { return __builtin_inff(); }
  static constexpr float quiet_NaN() { return __builtin_nanf(""); }
  static constexpr float denorm_min() { return 1.4e-45f; }
  static constexpr bool has_infinity = true;
};
template <> struct numeric_limits<half> {
  static constexpr bool is_specialized = true;
  static constexpr half min() { return (half)6.103515625e-05f; }
  static constexpr half max() { return (half)65504.0f; }
  static constexpr half lowest() { return (half)-65504.0f; }
  static constexpr half epsilon() { return (half)0.0009765625f; }
  static constexpr half infinity() { return (half)__builtin_inff(); }
  static constexpr half quiet_NaN() { return (half)__builtin_nanf(""); }
  static constexpr bool has_infinity = true;
};
template <> struct numeric_limits<bfloat> {
  static constexpr bool is_specialized = true;
  static bfloat min() { return (bfloat)1.17549435e-38f; }
  static bfloat max() { return __builtin_bit_cast(bfloat, (unsigned short)0x7f7f); }
  static bfloat lowest() { return __builtin_bit_cast(bfloat, (unsigned short)0xff7f); }
  static bfloat epsilon() { return (bfloat)0.0078125f; }
  static bfloat infinity() { return __builtin_bit_cast(bfloat, (unsigned short)0x7f80); }
  static bfloat quiet_NaN() { return __builtin_bit_cast(bfloat, (unsigned short)0x7fc0); }
  static constexpr bool has_infinity = true;
};
#define PM_INTLIM(T, lo, hi)                            \
  template <> struct numeric_limits<T> {                \
    static constexpr bool is_specialized = true;        \
    static constexpr T min() { return lo; }             \
    static constexpr T max() { return hi; }             \
    static constexpr T lowest() { return lo; }          \
    static constexpr bool has_infinity = false;         \
  };
PM_INTLIM(char, (char)-128, (char)127)
PM_INTLIM(signed char, (signed char)-128, (signed char)127)
PM_INTLIM(unsigned char, (unsigned char)0, (unsigned char)255)
PM_INTLIM(short, (short)-32768, (short)32767)
PM_INTLIM(unsigned short, (unsigned short)0, (unsigned short)65535)
PM_INTLIM(int, (-2147483647 - 1), 2147483647)
PM_INTLIM(unsigned int, 0u, 4294967295u)
PM_INTLIM(long, (-9223372036854775807L - 1), 9223372036854775807L)
PM_INTLIM(unsigned long, 0ul, 18446744073709551615ul)
PM_INTLIM(bool, false, true)
#undef PM_INTLIM

template <class T, class U>
inline T as_type(const U& u) {
  static_assert(sizeof(T) == sizeof(U), "as_type: sizes differ");
  return __builtin_bit_cast(T, u);
}
}  // namespace metal

#define METAL_FUNC inline __attribute__((__always_inline__))
#define METAL_INTERNAL
#define METAL_CONST const

// constants from <metal_math> / <metal_limits>
#define MAXFLOAT 3.40282347e+38f
#define HUGE_VALF __builtin_huge_valf()
#define HUGE_VALH ((half)__builtin_huge_valf())
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define FLT_MAX 3.40282347e+38f
#define FLT_MIN 1.17549435e-38f
#define FLT_EPSILON 1.1920929e-7f
#define HALF_MAX ((half)65504.0f)
#define HALF_MIN ((half)6.103515625e-05f)
#define HALF_EPSILON ((half)0.0009765625f)
#define CHAR_BIT 8
#define SCHAR_MAX 127
#define SCHAR_MIN (-128)
#define UCHAR_MAX 255
#define SHRT_MAX 32767
#define SHRT_MIN (-32768)
#define USHRT_MAX 65535
#define INT_MAX 2147483647
#define INT_MIN (-2147483647 - 1)
#define UINT_MAX 4294967295u
#define M_E_F 2.71828182845904523536f
#define M_LOG2E_F 1.44269504088896340736f
#define M_LOG10E_F 0.434294481903251827651f
#define M_LN2_F 0.693147180559945309417f
#define M_LN10_F 2.30258509299404568402f
#define M_PI_F 3.14159265358979323846f
#define M_PI_2_F 1.57079632679489661923f
#define M_PI_4_F 0.785398163397448309616f
#define M_1_PI_F 0.318309886183790671538f
#define M_2_PI_F 0.636619772367581343076f
#define M_2_SQRTPI_F 1.12837916709551257390f
#define M_SQRT2_F 1.41421356237309504880f
#define M_SQRT1_2_F 0.707106781186547524401f
#define M_E_H ((half)M_E_F)
#define M_LOG2E_H ((half)M_LOG2E_F)
#define M_LN2_H ((half)M_LN2_F)
#define M_PI_H ((half)M_PI_F)
#define M_SQRT2_H ((half)M_SQRT2_F)
#define M_SQRT1_2_H ((half)M_SQRT1_2_F)
