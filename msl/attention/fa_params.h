// The forward kernels' parameters (attention/flash_attention.metal, the Metal 3 tier, and
// attention/flash_attention_mpp.metal, the Metal 4 tier): the same fields, in order, as
// FA_METAL_PARAMS in src/backend/metal/launchers/flash_attention.ts (4 bytes each).
#pragma once
#include <metal_stdlib>
using namespace metal;

struct FaParams {
  uint rows;
  uint batches;
  uint sq;
  uint sk;
  uint hq;
  uint hkv;
  uint group;
  uint d;
  uint dv;
  uint q_sb;
  uint q_ss;
  uint q_sh;
  uint k_sb;
  uint k_ss;
  uint k_sh;
  uint v_sb;
  uint v_ss;
  uint v_sh;
  uint o_sb;
  uint o_ss;
  uint o_sh;
  uint has_offset;
  int offset;
  int left;
  int right;
  float scale;
  float cap;
  float inv_cap;
};
