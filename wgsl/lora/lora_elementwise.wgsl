// The LoRA ops' elementwise steps between their gemm launches, one invocation per element
// pair of a chunk (chunks start on whole 512-element blocks, so every binding starts at the
// chunk's first element; e0 is that element's index in the whole tensor):
// CAST = 0: the dropout mask — dst = src with the dropped elements zeroed, raw bits copied
//   (the 1/(1 − p) scale is folded into the products' alpha). Element e is kept iff
//   mix32((e0 + e) XOR seed_mix) ≥ thr, seed_mix = mix32(seed), thr = ⌊p·2^32⌋ (the same
//   integer steps as src/ops/fused_lora_forward/dropout.ts and msl/lora/lora.metal).
// CAST = 1: dst = scale·src (f32) rounded to X_DT (exact round-to-nearest-even); scale = 1
//   leaves src as it is, s folds LoRA's scale into xa for lora_gemm.ts.
// MASK_ADD = 1: dst = add + mask(src) in f32, rounded to X_DT (fused_mlp's backward sums the
//   gate and up projections' x-gradients, each with its own dropout mask).
override WG: u32 = 256;

#include "common/convert.wgsl"
#ifndef MASK_ADD
#define MASK_ADD 0
#endif
#if MASK_ADD
#define ATOMIC_OUT 0
#include "common/tensor.wgsl" (NAME=src, DT=X_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=dst, DT=X_DT, BINDING=1, WRITE=1)
#include "common/tensor.wgsl" (NAME=add, DT=X_DT, BINDING=3, WRITE=0)
#elif CAST
@group(0) @binding(0) var<storage, read> src: array<f32>;
#define ATOMIC_OUT 0
#include "common/tensor.wgsl" (NAME=dst, DT=X_DT, BINDING=1, WRITE=1)
#else
// f32: one element a word; f16/bf16: two halves a word.
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
#endif

struct Params {
  count: u32,
  groups_x: u32,
  e0: u32,
  thr: u32,
  seed_mix: u32,
  scale: f32,
}
@group(0) @binding(2) var<uniform> p: Params;

#include "lora/mix32.wgsl"

fn keep(e: u32) -> bool {
  return mix32((p.e0 + e) ^ p.seed_mix) >= p.thr;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = (wid.x + wid.y * p.groups_x) * WG + lid;
  let e = 2u * k;
  if (e >= p.count) {
    return;
  }
  let two = e + 1u < p.count;
#if MASK_ADD
  // Word k holds elements e and e + 1 (f32 words are walked in pairs, common/tensor.wgsl);
  // the second lies past the end only when !two, and its store is masked.
  let v = load2_src(k);
  let m = vec2<f32>(select(0.0, v.x, keep(e)), select(0.0, v.y, two && keep(e + 1u)));
  store2_dst(k, load2_add(k) + m, true, two);
#elif CAST
  let hi = src[min(e + 1u, p.count - 1u)];
  store2_dst(k, vec2<f32>(src[e], select(0.0, hi, two)) * p.scale, true, two);
#elif X_DT == 0
  dst[e] = select(0u, src[e], keep(e));
  if (two) {
    dst[e + 1u] = select(0u, src[e + 1u], keep(e + 1u));
  }
#else
  let m = select(0u, 0xffffu, keep(e)) | select(0u, 0xffff0000u, two && keep(e + 1u));
  dst[k] = src[k] & m;
#endif
}
