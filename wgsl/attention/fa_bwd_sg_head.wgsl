// The head of the backward's subgroup-matrix kernels (fa_bwd_dq_sgmat.wgsl,
// fa_bwd_dkv_sgmat.wgsl): extensions, defaults, bindings as fa_bwd_common.wgsl but every f16
// tensor read and written as 16-byte words, Params, row geometry, the logit.
// Params.o_base is dO's base (dO has o's layout) and lse_base indexes the (lse, D) scratch.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#ifndef D
#define D 64
#define DV 64
#define NQ 4
#define NV 4
#define NSG 4
#define BT 32
#define NT 2
#define SWZ 1
#define LATE_FIRST 0
#endif

const WG: u32 = NSG * 32u;
const LDK: u32 = D + 8u;
const LDV: u32 = DV + 8u;
// Per subgroup: f32 stages of 16 rows × BT (S and dP), the f16 stage of 16 × BT (or a 16×16
// slice), rows SLD / PLD apart: SPAD (0 or 8, PMETAL_FA_SGMAT_PAD) pads them as the forward's
// (fa_forward_sgmat.wgsl: conflict-free matrix stores of S and dP and loads of the f16 stage).
#ifndef SPAD
#define SPAD 0
#endif
const SLD: u32 = BT + SPAD;
const PLD: u32 = BT + SPAD;
const SSZ: u32 = 16u * SLD;
const PSZ: u32 = 16u * PLD;
const HB: u32 = BT / 2u;

#include "common/convert.wgsl"
#include "loss/softcap.wgsl"

@group(0) @binding(0) var<storage, read> q: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<u32>>;
#if !DV_PASS
@group(0) @binding(2) var<storage, read> v: array<vec4<u32>>;
#endif
@group(0) @binding(3) var<storage, read> dO: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> ld: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<u32>;
@group(0) @binding(6) var<storage, read> cuq: array<i32>;
@group(0) @binding(7) var<storage, read> cuk: array<i32>;
#include "attention/fa_params.wgsl"
@group(0) @binding(8) var<uniform> p: Params;
#include "attention/fa_rows.wgsl"

// (z, ∂z/∂x) of a raw dot t: x = scale·t, then the softcap.
fn logit(t: f32) -> vec2<f32> {
  let x = p.scale * t;
  if (p.has_cap != 0u) {
    return softcap(x, p.cap, p.inv_cap);
  }
  return vec2<f32>(x, 1.0);
}

// dS (or P) as f16 for the matrix units: the hardware conversion, which WGSL lets round to
// either neighbour (the f16 bound counts that), at a fraction of an exact RNE's ALU work.
fn to_f16(x: f32) -> f16 {
  return f16(x);
}
