// dequantize: W [N, K] → y [N, K], 8 consecutive elements of a row per thread (decode.h),
// one rounding to T at the store. metal3 only: an elementwise decode has nothing for the
// tensor units to do. GGUF instantiations bind `w` again at 1 and 2 (never read).
#include <metal_stdlib>
#include "quant/decode.h"
using namespace metal;

// Same fields, in order, as DEQUANTIZE_MSL_PARAMS in src/backend/metal/launchers/dequantize.ts.
struct DeqParams {
  uint n;
  uint k;
  uint row_bytes;
  uint group;
  uint gpr;
};

template <int FMT, typename S, typename T>
kernel void dequantize(device const uchar* w [[buffer(0)]],
                       device const S* scales [[buffer(1)]],
                       device const S* biases [[buffer(2)]],
                       device T* y [[buffer(3)]],
                       constant DeqParams& p [[buffer(4)]],
                       uint gid [[thread_position_in_grid]]) {
  const uint runs = p.k / 8;
  if (gid >= p.n * runs) return;
  const uint row = gid / runs;
  const uint k0 = (gid % runs) * 8;
  float v[8];
  decode8<FMT, S>(w, scales, biases, row, k0, p.row_bytes, p.group, p.gpr, v);
  device T* out = y + ulong(row) * p.k + k0;
  for (uint i = 0; i < 8; i++) out[i] = T(v[i]);
}

// Host names are single literals: built by token pasting, then stringified.
#define deq_str(x) #x
#define instantiate_deq(name, FMT, S, T) \
  template [[host_name(deq_str(name))]] [[kernel]] decltype(dequantize<FMT, S, T>) dequantize<FMT, S, T>;
#define instantiate_deq_out(fmt, F, sn, S) \
  instantiate_deq(dequantize_##fmt##_##sn##_f32, F, S, float) \
  instantiate_deq(dequantize_##fmt##_##sn##_f16, F, S, half) \
  instantiate_deq(dequantize_##fmt##_##sn##_bf16, F, S, bfloat)
#define instantiate_deq_mlx(fmt, F) \
  instantiate_deq_out(fmt, F, f32, float) \
  instantiate_deq_out(fmt, F, f16, half) \
  instantiate_deq_out(fmt, F, bf16, bfloat)
instantiate_deq_mlx(mlx4, QFMT_MLX4)
instantiate_deq_mlx(mlx8, QFMT_MLX8)
instantiate_deq_out(q4_0, QFMT_Q4_0, none, float)
instantiate_deq_out(q8_0, QFMT_Q8_0, none, float)
instantiate_deq_out(q4_k, QFMT_Q4_K, none, float)
instantiate_deq_out(q6_k, QFMT_Q6_K, none, float)
