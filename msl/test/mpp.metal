// pmetal host-runtime tests: the Metal 4 subset (MetalPerformancePrimitives matmul2d).
#include <metal_stdlib>
#include <metal_tensor>
#include <MetalPerformancePrimitives/MetalPerformancePrimitives.h>
using namespace metal;
using namespace mpp::tensor_ops;

struct Dims {
  int M, N, K;
};

// C (M x N, float) = A (M x K, half) * B (K x N, half); a 64 x 32 tile per threadgroup,
// 4 SIMD-groups; K looped in chunks of 32 with multiply_accumulate.
kernel void mpp_gemm(device half* A_buf [[buffer(0)]],
                     device half* B_buf [[buffer(1)]],
                     device float* C_buf [[buffer(2)]],
                     constant Dims& d [[buffer(3)]],
                     uint2 tgid [[threadgroup_position_in_grid]]) {
  auto A = tensor<device half, dextents<int32_t, 2>, tensor_inline>(A_buf, dextents<int32_t, 2>(d.K, d.M));
  auto B = tensor<device half, dextents<int32_t, 2>, tensor_inline>(B_buf, dextents<int32_t, 2>(d.N, d.K));
  auto C = tensor<device float, dextents<int32_t, 2>, tensor_inline>(C_buf, dextents<int32_t, 2>(d.N, d.M));
  constexpr auto desc = matmul2d_descriptor(64, 32, 32, false, false, false,
                                            matmul2d_descriptor::mode::multiply_accumulate);
  matmul2d<desc, execution_simdgroups<4>> op;
  auto mC = C.slice(tgid.x * 32, tgid.y * 64);
  for (int k = 0; k < d.K; k += 32) {
    auto mA = A.slice(k, tgid.y * 64);
    auto mB = B.slice(tgid.x * 32, k);
    op.run(mA, mB, mC);
  }
}

// C = relu(A * B^T + bias) through a cooperative destination tensor; B stored N x K.
kernel void mpp_gemm_nt_bias(device float* A_buf [[buffer(0)]],
                             device float* B_buf [[buffer(1)]],
                             device float* C_buf [[buffer(2)]],
                             device float* bias_buf [[buffer(3)]],
                             constant Dims& d [[buffer(4)]],
                             uint2 tgid [[threadgroup_position_in_grid]]) {
  auto A = tensor<device float, dextents<int32_t, 2>, tensor_inline>(A_buf, dextents<int32_t, 2>(d.K, d.M));
  auto B = tensor<device float, dextents<int32_t, 2>, tensor_inline>(B_buf, dextents<int32_t, 2>(d.K, d.N));
  auto C = tensor<device float, dextents<int32_t, 2>, tensor_inline>(C_buf, dextents<int32_t, 2>(d.N, d.M));
  auto bias = tensor<device float, dextents<int32_t, 2>, tensor_inline>(bias_buf, dextents<int32_t, 2>(d.N, d.M));
  constexpr auto desc = matmul2d_descriptor(32, 32, static_cast<int>(dynamic_extent), false, true);
  matmul2d<desc, execution_simdgroups<2>> op;
  auto mA = A.slice(0, tgid.y * 32);
  auto mB = B.slice(0, tgid.x * 32);
  auto mC = C.slice(tgid.x * 32, tgid.y * 32);
  auto cT = op.get_destination_cooperative_tensor<__remove_addrspace_t<decltype(mA)>, __remove_addrspace_t<decltype(mB)>, float>();
  for (uint16_t i = 0; i < cT.get_capacity(); ++i)
    if (cT.is_valid_element(i)) cT[i] = 0;
  op.run(mA, mB, cT);
  auto bT = op.get_destination_cooperative_tensor<__remove_addrspace_t<decltype(mA)>, __remove_addrspace_t<decltype(mB)>, float>();
  bT.load(bias.slice(tgid.x * 32, tgid.y * 32));
  for (uint16_t i = 0; i < cT.get_capacity(); ++i) {
    if (!cT.is_valid_element(i)) continue;
    auto idx = cT.get_multidimensional_index(i);
    cT[i] = max(cT[i] + bT[i], 0.0f) + (idx[0] < 0 ? 1.0f : 0.0f);
  }
  cT.store(mC);
}
