// SwiGLU forward, y = silu(g)·u = g·σ(g)·u, and its gradients
//   dgate = dy·u·σ·(1 + g·(1−σ)),  dup = dy·g·σ,
// with σ and 1−σ from sigmoid_pair (no cancellation). Each thread handles ELEMS consecutive
// elements; f32 arithmetic, one rounding to T at the store.
#include <metal_stdlib>
#include "common/sigmoid.h"
using namespace metal;

#define ELEMS 4

// Same fields, in order, as FLAT_PARAMS in src/backend/metal/launchers/swiglu.ts.
struct FlatParams {
  uint count;
};

template <typename T>
kernel void swiglu(device const T* gate [[buffer(0)]],
                   device const T* up [[buffer(1)]],
                   device T* y [[buffer(2)]],
                   constant FlatParams& p [[buffer(3)]],
                   uint gid [[thread_position_in_grid]]) {
  for (uint k = 0; k < ELEMS; k++) {
    const ulong i = ulong(gid) * ELEMS + k;
    if (i >= p.count) break;
    const float g = float(gate[i]);
    const float s = sigmoid_pair(g).x;
    y[i] = T(g * s * float(up[i]));
  }
}

template <typename T>
kernel void swiglu_backward(device const T* dy [[buffer(0)]],
                            device const T* gate [[buffer(1)]],
                            device const T* up [[buffer(2)]],
                            device T* dgate [[buffer(3)]],
                            device T* dup [[buffer(4)]],
                            constant FlatParams& p [[buffer(5)]],
                            uint gid [[thread_position_in_grid]]) {
  for (uint k = 0; k < ELEMS; k++) {
    const ulong i = ulong(gid) * ELEMS + k;
    if (i >= p.count) break;
    const float d = float(dy[i]);
    const float g = float(gate[i]);
    const float u = float(up[i]);
    const float2 s = sigmoid_pair(g);
    const float t = g * s.y;
    dgate[i] = T(d * u * s.x * (1.0f + t));
    dup[i] = T(d * g * s.x);
  }
}

#define instantiate_swiglu(fwd, bwd, T) \
  template [[host_name(fwd)]] [[kernel]] decltype(swiglu<T>) swiglu<T>; \
  template [[host_name(bwd)]] [[kernel]] decltype(swiglu_backward<T>) swiglu_backward<T>;
instantiate_swiglu("swiglu_f32", "swiglu_backward_f32", float)
instantiate_swiglu("swiglu_f16", "swiglu_backward_f16", half)
instantiate_swiglu("swiglu_bf16", "swiglu_backward_bf16", bfloat)
