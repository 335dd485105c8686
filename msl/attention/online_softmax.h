// The online softmax pieces shared by the attention kernels: the lazy-rescale constants and
// the logit softcap (every tier), and the Metal 4 kernels' key-tile step
// (attention/flash_attention_mpp.metal, attention/decode_attention_mpp.metal), where a
// 32 rows × 32 keys score tile comes from an MPP matmul and O is a cooperative tensor.
#pragma once
#include <metal_stdlib>
using namespace metal;

// The running max moves only when a tile's max exceeds it by FA_TAU (RESCALE_SLACK in
// src/ops/flash_attention_forward/bounds.ts).
constant float FA_TAU = 8.0f;
constant float FA_LOWEST = -FLT_MAX;

// The logit softcap c·tanh(x/c) from one exp (as msl/loss/cross_entropy.metal's ce_softcap:
// the error model softcapError in src/ops/cross_entropy/reference.ts).
inline float fa_softcap(float x, float cap, float inv_cap) {
  const float a = fabs(x) * inv_cap;
  const float e = precise::exp(-2.0f * a);
  const float r = 1.0f / (1.0f + e);
  const float z = cap * ((1.0f - e) * r);
  return x >= 0.0f ? z : -z;
}

// One 32-key tile of the Metal 4 kernels' online softmax, 4 adjacent lanes a row: this lane
// takes row srow, keys scol .. scol + 7 of the f32 score tile ss (rows × 32). Logits
// scale·s (softcapped when `capped`), masked to the row's keys [lo, hi] (none unless
// `live`); the lazy rescale (m moves only when the tile's max over the row's 4 lanes exceeds
// m + FA_TAU); P = exp(x − m) into ps (rows × 32, the P·V operand type PT); l += this lane's
// Σ P. Returns the row's rescale factor α for O (1 when m did not move). Every lane of the
// SIMD-group calls it (shuffles).
template <typename PT>
inline float fa4_softmax_tile(threadgroup const float* ss, threadgroup PT* ps, uint srow, uint scol, int k0, bool live, int lo, int hi,
                              float scale, bool capped, float cap, float inv_cap, thread float& m, thread float& l) {
  float x8[8];
  float mt = FA_LOWEST;
  for (uint i = 0; i < 8; i++) {
    float x = scale * ss[srow * 32 + scol + i];
    if (capped) x = fa_softcap(x, cap, inv_cap);
    const int j = k0 + int(scol + i);
    x8[i] = live && j >= lo && j <= hi ? x : FA_LOWEST;
    mt = max(mt, x8[i]);
  }
  mt = max(mt, simd_shuffle_xor(mt, 1));
  mt = max(mt, simd_shuffle_xor(mt, 2));
  float alpha = 1.0f;
  if (mt > m + FA_TAU) {
    alpha = m == FA_LOWEST ? 0.0f : precise::exp(m - mt);
    l *= alpha;
    m = mt;
  }
  for (uint i = 0; i < 8; i++) {
    const float pe = x8[i] == FA_LOWEST ? 0.0f : precise::exp(x8[i] - m);
    ps[srow * 32 + scol + i] = PT(pe);
    l += pe;
  }
  return alpha;
}

// O·α per row: each thread scales the elements of the cooperative O it holds by their row's
// factor (alpha[row], written by the rows' first lanes).
template <typename Acc>
inline void fa4_acc_rescale(thread Acc& acc, threadgroup const float* alpha) {
  for (uint16_t i = 0; i < acc.get_capacity(); ++i)
    if (acc.is_valid_element(i)) acc[i] *= alpha[acc.get_multidimensional_index(i)[1]];
}
