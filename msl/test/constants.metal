// pmetal host-runtime tests: function constants and template kernels under [[host_name]].
#include <metal_stdlib>
using namespace metal;

constant bool use_bias [[function_constant(0)]];
constant int scale_factor [[function_constant(1)]];
constant float offset_value [[function_constant(2)]];
constant bool has_offset = is_function_constant_defined(offset_value);
constant bool bias_or_offset = use_bias || has_offset;

kernel void fc_kernel(device const float* x [[buffer(0)]],
                      device float* y [[buffer(1)]],
                      device const float* bias [[buffer(2), function_constant(use_bias)]],
                      uint i [[thread_position_in_grid]]) {
  float v = x[i] * float(scale_factor);
  if (use_bias) v += bias[i];
  if (has_offset) v += offset_value;
  y[i] = bias_or_offset ? v : -v;
}

template <typename T, int N>
kernel void scale_n(device const T* x [[buffer(0)]],
                    device T* y [[buffer(1)]],
                    uint i [[thread_position_in_grid]]) {
  T acc = T(0);
  for (int k = 0; k < N; k++) acc += x[i];
  y[i] = acc;
}

template [[host_name("scale_f32_3")]] kernel void scale_n<float, 3>(device const float*, device float*, uint);
template [[host_name("scale_i32_5")]] [[kernel]] void scale_n<int, 5>(device const int* x [[buffer(0)]], device int* y [[buffer(1)]], uint i [[thread_position_in_grid]]);

#define instantiate_scale(name, T, N) \
  template [[host_name(name)]] [[kernel]] decltype(scale_n<T, N>) scale_n<T, N>;
instantiate_scale("scale_h_2", half, 2)
