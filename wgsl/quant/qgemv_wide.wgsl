// quantized_gemm, decode path for the formats qunit.wgsl reads as aligned words (MLX 4-bit,
// Q4_0, Q4_K; launchers/quantized_gemm.ts picks it under PMETAL_QGEMV_VARIANT=wide, wide2 or
// wide128 for M ≤ 4 and falls back to qgemv_sg.wgsl otherwise). qgemv_sg.wgsl's plan — one
// workgroup of WG invocations owns a block of rows of W, invocation lid takes units lid,
// lid + WG, … of each, subgroupAdd then one barrier — with less work per weight byte:
// - NR = 8 rows a workgroup instead of 4: x's 8 elements of a run are loaded and converted
//   once for 8 rows (at M = 1 on f16 x: a 16-byte load and 8 conversions per 64 weights
//   instead of per 32), and the reduction's subgroupAdd, barrier and stores are spread over
//   twice the weights;
// - the sums as FMA chains (fold8: one FMA a weight and row) instead of dot products added
//   to the sums (fold: 8 multiply-adds, then 2 adds per run and row);
// - MLX's group a shift (GS, the group size as a constant: qunit.wgsl's mlx_group), not a
//   division by a uniform;
// - Q4_K's scale pair branch-free (KSEL: qunit.wgsl's kpair), one pass for both sub-blocks.
// Bytes in flight per lane: UF = 1 (wide, wide128) issues one 16-byte unit of each of the 8
// rows before the first is used (128 B of weight + the units' scales, as qgemv_sg's paired
// step), UF = 2 (wide2) two units of each (256 B: at K = 4096 and WG = 64, a lane's whole
// share of its 8 rows in one step). Per SM on an H100 (~18–40 KB wanted in flight), UF = 1
// needs ~150–320 resident lanes waiting on loads, UF = 2 half as many.
// The decoded weights are qunit.wgsl's unit_part values (decode8's, one rounding for MLX
// and Q4_K), accumulated in f32 in another order: spec.ts's bound covers any order.
// Defines: the format's (launchers/quant.ts), X_DT, Y_DT, MT (= M, 1…4), WG (64 or 128),
// UF (1 or 2), GS (MLX: the group size), KSEL (Q4_K: 1), GALIGN (0: qunit.wgsl's readers).
enable subgroups;
#define QUNIT 1
#if MLX || Q4_K
#define WVEC 1
#else
#define WVEC 0
#endif
#include "quant/qgemm_common.wgsl"

const NR: u32 = 8u;
// Subgroups have at least 4 invocations (WebGPU's minimum size), so a workgroup has at most WG/4.
const NSG: u32 = WG / 4u;
// Slot (2·row of x + half) · NSG + subgroup: half 0 holds rows 0–3 of the block, half 1 rows 4–7.
var<workgroup> red: array<vec4<f32>, 2u * MT * NSG>;

#include "quant/qgemv_part.wgsl"
#include "quant/qunit.wgsl"

// acc + the 8 elements of x against the part's 4 rows, one FMA a weight (acc.i += x_k·w_i,k).
fn fold8(acc: vec4<f32>, x: W8, w: Part) -> vec4<f32> {
  var a = acc;
  a = fma(vec4<f32>(x.lo.x), vec4<f32>(w.w0.lo.x, w.w1.lo.x, w.w2.lo.x, w.w3.lo.x), a);
  a = fma(vec4<f32>(x.lo.y), vec4<f32>(w.w0.lo.y, w.w1.lo.y, w.w2.lo.y, w.w3.lo.y), a);
  a = fma(vec4<f32>(x.lo.z), vec4<f32>(w.w0.lo.z, w.w1.lo.z, w.w2.lo.z, w.w3.lo.z), a);
  a = fma(vec4<f32>(x.lo.w), vec4<f32>(w.w0.lo.w, w.w1.lo.w, w.w2.lo.w, w.w3.lo.w), a);
  a = fma(vec4<f32>(x.hi.x), vec4<f32>(w.w0.hi.x, w.w1.hi.x, w.w2.hi.x, w.w3.hi.x), a);
  a = fma(vec4<f32>(x.hi.y), vec4<f32>(w.w0.hi.y, w.w1.hi.y, w.w2.hi.y, w.w3.hi.y), a);
  a = fma(vec4<f32>(x.hi.z), vec4<f32>(w.w0.hi.z, w.w1.hi.z, w.w2.hi.z, w.w3.hi.z), a);
  a = fma(vec4<f32>(x.hi.w), vec4<f32>(w.w0.hi.w, w.w1.hi.w, w.w2.hi.w, w.w3.hi.w), a);
  return a;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32, @builtin(subgroup_size) ssz: u32) {
  let c0 = wid.x * NR;
  let units = unit_count();
  // Rows past N reread the last row of W (harmless) and are not stored.
  let n0 = min(c0, p.n - 1u);
  let n1 = min(c0 + 1u, p.n - 1u);
  let n2 = min(c0 + 2u, p.n - 1u);
  let n3 = min(c0 + 3u, p.n - 1u);
  let n4 = min(c0 + 4u, p.n - 1u);
  let n5 = min(c0 + 5u, p.n - 1u);
  let n6 = min(c0 + 6u, p.n - 1u);
  let n7 = min(c0 + 7u, p.n - 1u);
#include "common/frags.wgsl" (FRAG=quant/qgemv_wide_slot.wgsl, N=MT, STEP=0)
  var u = lid;
#if UF == 2
  // Two units of each of the 8 rows in flight: all 16 loads are issued before the first is used.
  for (; u + WG < units; u = u + 2u * WG) {
    let a0 = unit_load(n0, u);
    let a1 = unit_load(n1, u);
    let a2 = unit_load(n2, u);
    let a3 = unit_load(n3, u);
    let a4 = unit_load(n4, u);
    let a5 = unit_load(n5, u);
    let a6 = unit_load(n6, u);
    let a7 = unit_load(n7, u);
    let b0 = unit_load(n0, u + WG);
    let b1 = unit_load(n1, u + WG);
    let b2 = unit_load(n2, u + WG);
    let b3 = unit_load(n3, u + WG);
    let b4 = unit_load(n4, u + WG);
    let b5 = unit_load(n5, u + WG);
    let b6 = unit_load(n6, u + WG);
    let b7 = unit_load(n7, u + WG);
#include "quant/qgemv_wide_step.wgsl" (A=a, U=u)
#include "quant/qgemv_wide_step.wgsl" (A=b, U=u + WG)
  }
#endif
  for (; u < units; u = u + WG) {
    let a0 = unit_load(n0, u);
    let a1 = unit_load(n1, u);
    let a2 = unit_load(n2, u);
    let a3 = unit_load(n3, u);
    let a4 = unit_load(n4, u);
    let a5 = unit_load(n5, u);
    let a6 = unit_load(n6, u);
    let a7 = unit_load(n7, u);
#include "quant/qgemv_wide_step.wgsl" (A=a, U=u)
  }

  // Each row of x's 8 sums over the subgroup, then the subgroups' totals in one pass:
  // invocation t < 8·M stores row t / 8, column c0 + t % 8.
#include "common/frags.wgsl" (FRAG=quant/qgemv_wide_slot.wgsl, N=MT, STEP=2)
  workgroupBarrier();
  let nsg = (WG + ssz - 1u) / ssz;
  let r = lid / 8u;
  let c = lid % 8u;
  let col = c0 + c;
  if (lid < 8u * MT && col < p.n) {
    let at = (2u * r + c / 4u) * NSG;
    var s = 0.0;
    for (var g = 0u; g < nsg; g = g + 1u) {
      s = s + red[at + g][c % 4u];
    }
    store_y(p.y_base + r * p.ldy + col, s);
  }
}
