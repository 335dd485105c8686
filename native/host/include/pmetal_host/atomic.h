// pmetal stand-in <metal_stdlib>: atomics on device and threadgroup memory (sequentially
// consistent whatever the order argument: fibers of one threadgroup share an OS thread, but
// threadgroups run on several).
#pragma once
#include "sync.h"

namespace metal {

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
