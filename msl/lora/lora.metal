// The LoRA ops' elementwise steps between their gemm launches (the same as
// wgsl/lora/lora_elementwise.wgsl), one thread an element:
// lora_mask_b32 / _b16: the dropout mask — dst = src with the dropped elements zeroed, raw
//   bits copied (1/(1 − p) is folded into the products' alpha). Element e is kept iff
//   mix32(e XOR seed_mix) ≥ thr, seed_mix = mix32(seed), thr = ⌊p·2^32⌋
//   (src/ops/fused_lora_forward/dropout.ts).
// lora_cast_<dt>: dst = f32 src converted to the dtype (round to nearest even).
// lora_mask_add_<dt>: dst = add + mask(src) in f32, converted to the dtype (fused_mlp's
//   backward sums the gate and up projections' x-gradients, each under its own mask).
#include <metal_stdlib>
using namespace metal;

// Same fields, in order, as LORA_ELEMENTWISE_PARAMS in src/backend/metal/launchers/fused_lora.ts.
struct LoraElementwiseParams {
  uint count;
  uint thr;
  uint seed_mix;
};

// lowbias32 (Chris Wellons' hash-prospector): a 32-bit bijection with full avalanche.
inline uint lora_mix32(uint x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  return x ^ (x >> 16);
}

template <typename S>
kernel void lora_mask(device const S* src [[buffer(0)]],
                      device S* dst [[buffer(1)]],
                      constant LoraElementwiseParams& p [[buffer(2)]],
                      uint e [[thread_position_in_grid]]) {
  if (e >= p.count) return;
  dst[e] = lora_mix32(e ^ p.seed_mix) >= p.thr ? src[e] : S(0);
}

template <typename T>
kernel void lora_cast(device const float* src [[buffer(0)]],
                      device T* dst [[buffer(1)]],
                      constant LoraElementwiseParams& p [[buffer(2)]],
                      uint e [[thread_position_in_grid]]) {
  if (e >= p.count) return;
  dst[e] = T(src[e]);
}

template <typename T>
kernel void lora_mask_add(device const T* src [[buffer(0)]],
                          device T* dst [[buffer(1)]],
                          constant LoraElementwiseParams& p [[buffer(2)]],
                          device const T* add [[buffer(3)]],
                          uint e [[thread_position_in_grid]]) {
  if (e >= p.count) return;
  float m = lora_mix32(e ^ p.seed_mix) >= p.thr ? float(src[e]) : 0.0f;
  dst[e] = T(float(add[e]) + m);
}

template [[host_name("lora_mask_b32")]] [[kernel]] decltype(lora_mask<uint>) lora_mask<uint>;
template [[host_name("lora_mask_b16")]] [[kernel]] decltype(lora_mask<ushort>) lora_mask<ushort>;
template [[host_name("lora_cast_f16")]] [[kernel]] decltype(lora_cast<half>) lora_cast<half>;
template [[host_name("lora_cast_bf16")]] [[kernel]] decltype(lora_cast<bfloat>) lora_cast<bfloat>;
template [[host_name("lora_mask_add_f32")]] [[kernel]] decltype(lora_mask_add<float>) lora_mask_add<float>;
template [[host_name("lora_mask_add_f16")]] [[kernel]] decltype(lora_mask_add<half>) lora_mask_add<half>;
template [[host_name("lora_mask_add_bf16")]] [[kernel]] decltype(lora_mask_add<bfloat>) lora_mask_add<bfloat>;
