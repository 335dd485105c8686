// pmetal stand-in <metal_stdlib>: math, common, integer, geometric and relational functions.
// Scalars compute in float (half/bfloat round the float result); vectors apply elementwise.
// metal::fast:: and metal::precise:: name the same functions (the host has one precision).
#pragma once
#include "types.h"

namespace metal {

template <class T> using __pm_en_s = std::enable_if_t<__pm_is_scalar<T>::value, int>;
template <class V> using __pm_en_v =
    std::enable_if_t<__pm_vt<V>::is_vec && !__pm_is_packed<V>::value && !std::is_class<V>::value, int>;
template <class V> using __pm_en_fv = std::enable_if_t<
    __pm_vt<V>::is_vec && !std::is_class<V>::value && __pm_is_float<typename __pm_vt<V>::E>::value, int>;

template <class A> struct __pm_fr1_t { using type = float; };
template <> struct __pm_fr1_t<half> { using type = half; };
template <> struct __pm_fr1_t<bfloat> { using type = bfloat; };
template <class A> using __pm_fr1 = typename __pm_fr1_t<A>::type;

template <class A, class B> struct __pm_fr2_t {
  using type = std::conditional_t<
      std::is_same<A, B>::value, __pm_fr1<A>,
      std::conditional_t<std::is_integral<B>::value, __pm_fr1<A>,
                         std::conditional_t<std::is_integral<A>::value, __pm_fr1<B>, float>>>;
};
template <class A, class B> using __pm_fr2 = typename __pm_fr2_t<A, B>::type;

// result of min/max/clamp on scalars: same type; int mixed with a float type -> the float type
template <class A, class B> struct __pm_cr_t {
  using type = std::conditional_t<
      std::is_same<A, B>::value, A,
      std::conditional_t<__pm_is_float<A>::value && !__pm_is_float<B>::value, A,
                         std::conditional_t<__pm_is_float<B>::value && !__pm_is_float<A>::value, B,
                                            std::conditional_t<(sizeof(A) >= sizeof(B)), A, B>>>>;
};
template <class A, class B> using __pm_cr = typename __pm_cr_t<A, B>::type;

template <class V, class U>
inline typename __pm_vt<V>::E __pm_at(const U& u, int i) {
  if constexpr (__pm_vt<U>::is_vec) return (typename __pm_vt<V>::E)u[i];
  else return (typename __pm_vt<V>::E)u;
}

#define PM_F1(name, fexpr)                                                         \
  template <class A, __pm_en_s<A> = 0>                                             \
  inline __pm_fr1<A> name(A a_) {                                                  \
    float x = (float)a_;                                                           \
    return (__pm_fr1<A>)(fexpr);                                                   \
  }                                                                                \
  template <class V, __pm_en_fv<V> = 0>                                            \
  inline V name(V v) {                                                             \
    V r;                                                                           \
    for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = name(v[i]);                     \
    return r;                                                                      \
  }

PM_F1(exp, __builtin_expf(x))
PM_F1(exp2, __builtin_exp2f(x))
PM_F1(exp10, __builtin_powf(10.0f, x))
PM_F1(log, __builtin_logf(x))
PM_F1(log2, __builtin_log2f(x))
PM_F1(log10, __builtin_log10f(x))
PM_F1(sqrt, __builtin_sqrtf(x))
PM_F1(rsqrt, 1.0f / __builtin_sqrtf(x))
PM_F1(sin, __builtin_sinf(x))
PM_F1(cos, __builtin_cosf(x))
PM_F1(tan, __builtin_tanf(x))
PM_F1(asin, __builtin_asinf(x))
PM_F1(acos, __builtin_acosf(x))
PM_F1(atan, __builtin_atanf(x))
PM_F1(sinh, __builtin_sinhf(x))
PM_F1(cosh, __builtin_coshf(x))
PM_F1(tanh, __builtin_tanhf(x))
PM_F1(asinh, __builtin_asinhf(x))
PM_F1(acosh, __builtin_acoshf(x))
PM_F1(atanh, __builtin_atanhf(x))
PM_F1(sinpi, __builtin_sinf(x * M_PI_F))
PM_F1(cospi, __builtin_cosf(x * M_PI_F))
PM_F1(tanpi, __builtin_tanf(x * M_PI_F))
PM_F1(erf, __builtin_erff(x))
PM_F1(erfc, __builtin_erfcf(x))
PM_F1(floor, __builtin_floorf(x))
PM_F1(ceil, __builtin_ceilf(x))
PM_F1(round, __builtin_roundf(x))
PM_F1(rint, __builtin_rintf(x))
PM_F1(trunc, __builtin_truncf(x))
PM_F1(fract, __builtin_fminf(x - __builtin_floorf(x), 0x1.fffffep-1f))
PM_F1(fabs, __builtin_fabsf(x))
PM_F1(saturate, __builtin_fminf(__builtin_fmaxf(x, 0.0f), 1.0f))
PM_F1(sign, (x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : (x != x ? 0.0f : x))))
PM_F1(logb, __builtin_logbf(x))
PM_F1(cbrt, __builtin_cbrtf(x))
#undef PM_F1

#define PM_F2(name, fexpr)                                                          \
  template <class A, class B, __pm_en_s<A> = 0, __pm_en_s<B> = 0>                   \
  inline __pm_fr2<A, B> name(A a_, B b_) {                                          \
    float x = (float)a_, y = (float)b_;                                             \
    return (__pm_fr2<A, B>)(fexpr);                                                 \
  }                                                                                 \
  template <class V, class U, __pm_en_fv<V> = 0>                                    \
  inline V name(V a, U b) {                                                         \
    V r;                                                                            \
    for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = name(a[i], __pm_at<V>(b, i));    \
    return r;                                                                       \
  }                                                                                 \
  template <class S, class V, __pm_en_s<S> = 0, __pm_en_fv<V> = 0>                  \
  inline V name(S a, V b) {                                                         \
    V r;                                                                            \
    for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = name((typename __pm_vt<V>::E)a, b[i]); \
    return r;                                                                       \
  }

PM_F2(pow, __builtin_powf(x, y))
PM_F2(powr, __builtin_powf(x, y))
PM_F2(atan2, __builtin_atan2f(x, y))
PM_F2(fmod, __builtin_fmodf(x, y))
PM_F2(copysign, __builtin_copysignf(x, y))
PM_F2(fdim, __builtin_fdimf(x, y))
PM_F2(fmin, __builtin_fminf(x, y))
PM_F2(fmax, __builtin_fmaxf(x, y))
PM_F2(nextafter, __builtin_nextafterf(x, y))
PM_F2(step, (y < x ? 0.0f : 1.0f))
PM_F2(divide, x / y)
PM_F2(ldexp, __builtin_ldexpf(x, (int)y))
#undef PM_F2

template <class A, class B, class C, __pm_en_s<A> = 0, __pm_en_s<B> = 0, __pm_en_s<C> = 0>
inline __pm_fr2<__pm_fr2<A, B>, C> fma(A a, B b, C c) {
  return (__pm_fr2<__pm_fr2<A, B>, C>)__builtin_fmaf((float)a, (float)b, (float)c);
}
template <class V, class B, class C, __pm_en_fv<V> = 0>
inline V fma(V a, B b, C c) {
  V r;
  for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = fma(a[i], __pm_at<V>(b, i), __pm_at<V>(c, i));
  return r;
}
template <class A, class B, class C> inline auto mad(A a, B b, C c) { return fma(a, b, c); }

// ---- common: min / max / clamp / abs / mix / smoothstep / select (all scalar types)
template <class A, class B, __pm_en_s<A> = 0, __pm_en_s<B> = 0>
inline __pm_cr<A, B> max(A a, B b) {
  using T = __pm_cr<A, B>;
  if constexpr (__pm_is_float<T>::value) return (T)__builtin_fmaxf((float)a, (float)b);
  else return (T)a > (T)b ? (T)a : (T)b;
}
template <class A, class B, __pm_en_s<A> = 0, __pm_en_s<B> = 0>
inline __pm_cr<A, B> min(A a, B b) {
  using T = __pm_cr<A, B>;
  if constexpr (__pm_is_float<T>::value) return (T)__builtin_fminf((float)a, (float)b);
  else return (T)a < (T)b ? (T)a : (T)b;
}
template <class V, class U, __pm_en_v<V> = 0>
inline V max(V a, U b) {
  V r;
  for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = max(a[i], __pm_at<V>(b, i));
  return r;
}
template <class V, class U, __pm_en_v<V> = 0>
inline V min(V a, U b) {
  V r;
  for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = min(a[i], __pm_at<V>(b, i));
  return r;
}
template <class A, class B, class C, __pm_en_s<A> = 0>
inline A clamp(A x, B lo, C hi) {
  return (A)min(max(x, (A)lo), (A)hi);
}
template <class V, class B, class C, __pm_en_v<V> = 0>
inline V clamp(V x, B lo, C hi) {
  V r;
  for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = clamp(x[i], __pm_at<V>(lo, i), __pm_at<V>(hi, i));
  return r;
}
template <class A, __pm_en_s<A> = 0>
inline A abs(A a) {
  if constexpr (__pm_is_float<A>::value) return (A)__builtin_fabsf((float)a);
  else if constexpr (std::is_signed<A>::value) return a < 0 ? (A)-a : a;
  else return a;
}
template <class V, __pm_en_v<V> = 0>
inline V abs(V v) {
  V r;
  for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = abs(v[i]);
  return r;
}
template <class A, class B, __pm_en_s<A> = 0>
inline auto absdiff(A a, B b) {
  using T = __pm_cr<A, B>;
  return (T)a > (T)b ? (T)((T)a - (T)b) : (T)((T)b - (T)a);
}
template <class A, class B, class C, __pm_en_s<A> = 0>
inline A mix(A x, B y, C a) {
  return (A)((float)x + ((float)y - (float)x) * (float)a);
}
template <class V, class B, class C, __pm_en_fv<V> = 0>
inline V mix(V x, B y, C a) {
  V r;
  for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = mix(x[i], __pm_at<V>(y, i), __pm_at<V>(a, i));
  return r;
}
template <class A, class B, class C, __pm_en_s<C> = 0>
inline C smoothstep(A e0, B e1, C x) {
  float t = __builtin_fminf(__builtin_fmaxf(((float)x - (float)e0) / ((float)e1 - (float)e0), 0.f), 1.f);
  return (C)(t * t * (3.0f - 2.0f * t));
}
template <class A, class B, class V, __pm_en_fv<V> = 0>
inline V smoothstep(A e0, B e1, V x) {
  V r;
  for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = smoothstep(__pm_at<V>(e0, i), __pm_at<V>(e1, i), x[i]);
  return r;
}
// select(a, b, c): c ? b : a, per component
template <class A, class B, __pm_en_s<A> = 0>
inline A select(A a, B b, bool c) {
  return c ? (A)b : a;
}
template <class V, class B, class C, __pm_en_v<V> = 0>
inline V select(V a, B b, C c) {
  V r;
  for (int i = 0; i < __pm_vt<V>::N; i++) {
    bool ci;
    if constexpr (__pm_vt<C>::is_vec) ci = c[i] != 0;
    else ci = c;
    r[i] = ci ? __pm_at<V>(b, i) : a[i];
  }
  return r;
}

// ---- relational
template <class A, __pm_en_s<A> = 0> inline bool all(A a) { return a != 0; }
template <class A, __pm_en_s<A> = 0> inline bool any(A a) { return a != 0; }
template <class V, std::enable_if_t<__pm_vt<V>::is_vec, int> = 0>
inline bool all(V v) {
  for (int i = 0; i < __pm_vt<V>::N; i++)
    if (!v[i]) return false;
  return true;
}
template <class V, std::enable_if_t<__pm_vt<V>::is_vec, int> = 0>
inline bool any(V v) {
  for (int i = 0; i < __pm_vt<V>::N; i++)
    if (v[i]) return true;
  return false;
}
#define PM_REL1(name, expr)                                      \
  template <class A, __pm_en_s<A> = 0>                           \
  inline bool name(A a_) {                                       \
    float x = (float)a_;                                         \
    return (expr);                                               \
  }                                                              \
  template <class V, __pm_en_fv<V> = 0>                          \
  inline vec<bool, __pm_vt<V>::N> name(V v) {                    \
    vec<bool, __pm_vt<V>::N> r;                                  \
    for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = name(v[i]);   \
    return r;                                                    \
  }
PM_REL1(isnan, x != x)
PM_REL1(isinf, __builtin_isinf(x))
PM_REL1(isfinite, __builtin_isfinite(x))
PM_REL1(isnormal, __builtin_isnormal(x))
PM_REL1(signbit, __builtin_signbit(x))
#undef PM_REL1

// ---- integer
#define PM_I1(name, expr)                                             \
  template <class A, std::enable_if_t<std::is_integral<A>::value, int> = 0> \
  inline A name(A a) {                                                \
    using U = std::make_unsigned_t<A>;                                \
    U x = (U)a;                                                       \
    constexpr int W = sizeof(A) * 8;                                  \
    (void)W;                                                          \
    return (A)(expr);                                                 \
  }                                                                   \
  template <class V, std::enable_if_t<__pm_vt<V>::is_vec && std::is_integral<typename __pm_vt<V>::E>::value, int> = 0> \
  inline V name(V v) {                                                \
    V r;                                                              \
    for (int i = 0; i < __pm_vt<V>::N; i++) r[i] = name(v[i]);        \
    return r;                                                         \
  }
PM_I1(popcount, __builtin_popcountll((unsigned long long)x))
PM_I1(clz, x == 0 ? W : __builtin_clzll((unsigned long long)x) - (64 - W))
PM_I1(ctz, x == 0 ? W : __builtin_ctzll((unsigned long long)x))
PM_I1(reverse_bits, ([&] { U r = 0; for (int i = 0; i < W; i++) if (x >> i & 1) r |= (U)1 << (W - 1 - i); return r; }()))
#undef PM_I1
template <class A, std::enable_if_t<std::is_integral<A>::value, int> = 0>
inline A mulhi(A a, A b) {
  if constexpr (sizeof(A) == 8) return (A)(((__int128)a * (__int128)b) >> 64);
  else return (A)(((long long)a * (long long)b) >> (sizeof(A) * 8));
}
template <class A, class B, std::enable_if_t<std::is_integral<A>::value, int> = 0>
inline A rotate(A v, B i) {
  using U = std::make_unsigned_t<A>;
  constexpr unsigned W = sizeof(A) * 8;
  unsigned s = (unsigned)i % W;
  return s == 0 ? v : (A)(((U)v << s) | ((U)v >> (W - s)));
}
template <class A, std::enable_if_t<std::is_integral<A>::value, int> = 0>
inline A extract_bits(A x, uint offset, uint bits) {
  if (bits == 0) return 0;
  using U = std::make_unsigned_t<A>;
  constexpr unsigned W = sizeof(A) * 8;
  U u = (U)x << (W - offset - bits);
  if constexpr (std::is_signed<A>::value) return (A)((A)u >> (W - bits));
  else return (A)(u >> (W - bits));
}
template <class A, std::enable_if_t<std::is_integral<A>::value, int> = 0>
inline A insert_bits(A base, A ins, uint offset, uint bits) {
  using U = std::make_unsigned_t<A>;
  constexpr unsigned W = sizeof(A) * 8;
  U mask = bits >= W ? (U)~(U)0 : (U)((((U)1 << bits) - 1) << offset);
  return (A)(((U)base & ~mask) | (((U)ins << offset) & mask));
}

// ---- geometric
template <class V, __pm_en_fv<V> = 0>
inline typename __pm_vt<V>::E dot(V a, V b) {
  float s = 0.0f;
  for (int i = 0; i < __pm_vt<V>::N; i++) s += (float)a[i] * (float)b[i];
  return (typename __pm_vt<V>::E)s;
}
template <class V, __pm_en_fv<V> = 0>
inline typename __pm_vt<V>::E length_squared(V a) { return dot(a, a); }
template <class V, __pm_en_fv<V> = 0>
inline typename __pm_vt<V>::E length(V a) {
  return (typename __pm_vt<V>::E)__builtin_sqrtf((float)dot(a, a));
}
template <class V, __pm_en_fv<V> = 0>
inline typename __pm_vt<V>::E distance(V a, V b) { return length(a - b); }
template <class V, __pm_en_fv<V> = 0>
inline V normalize(V a) {
  float r = 1.0f / __builtin_sqrtf((float)dot(a, a));
  V o;
  for (int i = 0; i < __pm_vt<V>::N; i++) o[i] = (typename __pm_vt<V>::E)((float)a[i] * r);
  return o;
}
template <class V, __pm_en_fv<V> = 0>
inline V cross(V a, V b) {
  static_assert(__pm_vt<V>::N == 3, "cross takes 3-component vectors");
  V r;
  r[0] = a[1] * b[2] - a[2] * b[1];
  r[1] = a[2] * b[0] - a[0] * b[2];
  r[2] = a[0] * b[1] - a[1] * b[0];
  return r;
}
template <class T, class C>
inline T sincos(T x, C& c) {
  c = cos(x);
  return sin(x);
}

namespace fast {
using namespace ::metal;
}
namespace precise {
using namespace ::metal;
}

}  // namespace metal
