// pmetal stand-in <metal_stdlib>: the glue the rewrite step targets — threadgroup variables
// in the arena, function constants, and kernel argument binding for the trampolines (a
// parameter's value from its [[buffer(n)]], [[threadgroup(n)]] or position attribute).
#pragma once
#include "sync.h"

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
// The bytes a parameter of type P reads from its binding (see KernelDesc).
template <class P> constexpr uint64_t __param_bytes() {
  if constexpr (std::is_pointer<P>::value) return 0;
  else if constexpr (std::is_reference<P>::value) return sizeof(std::remove_reference_t<P>);
  else return sizeof(P);
}
template <class F> struct param_bytes;
template <class... P> struct param_bytes<void (*)(P...)> {
  static constexpr uint64_t value[sizeof...(P) + 1] = {__param_bytes<P>()..., 0};
};

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
