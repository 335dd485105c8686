// quantized_gemm, decode path (M ≤ 16) on the subgroups tier, the default bandwidth kernel:
// y[i, n] = Σ_k x[i, k]·W[n, k]. One workgroup of WG (64, or 128 under
// PMETAL_QGEMV_VARIANT=sg128) invocations owns NR = 4 consecutive rows of W (columns of y)
// and all MT = M rows of x; invocation lid takes units lid, lid + WG, … (32 weights of each
// of the 4 rows, quant/qunit.wgsl, else decode32.wgsl) and keeps M·4 sums in named registers.
//
// Budget per SM on an H100 (3.35 TB/s HBM, 132 SMs, ~0.7 µs loaded DRAM latency): ~18 KB
// must be in flight per SM; per lane and step this kernel has 4 rows × 2 units in flight
// (M ≤ 8): MLX4 = 8 × 16 B of weight + 16 scale/bias halves; Q4_K = 8 × 16 B of quants + the
// super-blocks' first words (one broadcast per 8 lanes); Q4_0 = 8 × 20 B as 4-byte words —
// 128–160 B a lane, ~4–5 KB a 32-lane subgroup, so 4 resident subgroups per SM cover it.
// The limit at M = 1 is rather the ALU: per 8 weights of a row, MLX4 (f16 scales) takes 1
// shift, 8 and/or (one LOP3 each), 8 subtractions of 2²³, 8 FMAs s·q + b and 8 FMAs with x
// = 33 operations, 4.1 a weight; Q4_0/Q4_K the same plus 1 shift a word (qunit.wgsl: their
// nibbles are masked in place too; Q4_K's scale bytes add ~1 a weight). At 0.5625 bytes a
// weight (4 bits + a 16-bit scale and bias per 64, or GGUF's 18/32, 144/256), 70% of copy
// (~1.9 TB/s) is 3.4·10¹² weights/s, ~14–17·10¹² operations/s of the ~30·10¹² an H100 issues
// (132 SMs × 128 lanes × 1.75 GHz): the ALU must overlap the loads, so the kernel keeps the
// rest small:
// - x is read (and f16/bf16 decoded) once per run of 8 for the 4 rows, so per weight at
//   M = 1 it costs 1/4 of a load-and-convert;
// - the scales' work is per unit (16 f16 s·16^-i products for MLX4 are 4 distinct ones);
// - no serial reduction tree: each invocation's M·4 sums are added across its subgroup
//   (subgroupAdd, any subgroup size), the subgroups' totals through workgroup memory, one
//   barrier — qgemv_rows.wgsl (PMETAL_QGEMV_VARIANT=rows, and the portable tier) spends 3
//   barriers and a 2-level tree of 8 KiB per workgroup after as little as one unit a lane
//   (K = 4096: 128 units, 128 lanes);
// - WG = 64 gives each lane 2 units a row at K = 4096 (both in flight) and N/4 workgroups of
//   2 subgroups (3584 at N = 14336, 1024 at 4096: 15–54 subgroups an SM).
// Not taken: the bias as b·Σx per group (y = Σ_g s_g·Σq·x + b_g·Σx, one FMA per group
// instead of per weight) — it rounds s·Σq·x and b·Σx separately, whose error is relative to
// |s·q| + |b| rather than |s·q + b|, so src/ops/quantized_gemm/spec.ts's bound (γ_K·Σ|x|·|ŵ|)
// would not cover it where s·q and b cancel. f32 accumulation in any order: that bound.
// Defines: the format's (launchers/quant.ts), X_DT, Y_DT, MT (= M, 1…16), WG, UVEC (the
// launcher's check that the rows are aligned for qunit.wgsl: MLX and Q4_K on 16-byte
// boundaries, Q4_0 on 4-byte ones), GALIGN (decode32.wgsl's).
enable subgroups;
// qunit.wgsl reads the formats it has a reader for; it binds W as 16-byte words (WVEC) for
// MLX and Q4_K.
#if UVEC && (MLX || Q4_K || !(Q8_0 || Q6_K))
#define QUNIT 1
#else
#define QUNIT 0
#endif
#if QUNIT && (MLX || Q4_K)
#define WVEC 1
#else
#define WVEC 0
#endif
#ifndef MT
#define MT 1
#endif
#ifndef WG
#define WG 64
#endif
#include "quant/qgemm_common.wgsl"

const NR: u32 = 4u;
// Subgroups have at least 4 invocations (WebGPU's minimum size), so a workgroup has at most WG/4.
const NSG: u32 = WG / 4u;
var<workgroup> red: array<vec4<f32>, MT * NSG>;

#include "quant/qgemv_part.wgsl"
#if QUNIT
#include "quant/qunit.wgsl"
#else
#include "quant/decode32.wgsl"
fn unit_count() -> u32 {
  return p.k / 32u;
}
fn unit_k(u: u32, j: u32) -> u32 {
  return 32u * u + 8u * j;
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32, @builtin(subgroup_size) ssz: u32) {
  let c0 = wid.x * NR;
  let units = unit_count();
  // Rows past N reread the last row of W (harmless) and are not stored.
  let n0 = min(c0, p.n - 1u);
  let n1 = min(c0 + 1u, p.n - 1u);
  let n2 = min(c0 + 2u, p.n - 1u);
  let n3 = min(c0 + 3u, p.n - 1u);
#include "common/frags.wgsl" (FRAG=quant/qgemv_sg_slot.wgsl, N=MT, STEP=0)
  var u = lid;
#if MT <= 8
  // Two units of each row in flight: all 8 units' loads are issued before the first is used.
  for (; u + WG < units; u = u + 2u * WG) {
    let a0 = unit_load(n0, u);
    let a1 = unit_load(n1, u);
    let a2 = unit_load(n2, u);
    let a3 = unit_load(n3, u);
    let b0 = unit_load(n0, u + WG);
    let b1 = unit_load(n1, u + WG);
    let b2 = unit_load(n2, u + WG);
    let b3 = unit_load(n3, u + WG);
#include "quant/qgemv_sg_step.wgsl" (A=a, U=u)
#include "quant/qgemv_sg_step.wgsl" (A=b, U=u + WG)
  }
#endif
  for (; u < units; u = u + WG) {
    let a0 = unit_load(n0, u);
    let a1 = unit_load(n1, u);
    let a2 = unit_load(n2, u);
    let a3 = unit_load(n3, u);
#include "quant/qgemv_sg_step.wgsl" (A=a, U=u)
  }

  // Each row of x's 4 sums over the subgroup, then the subgroups' totals (subgroup s of the
  // workgroup at slot s) in one pass: invocation t < 4·M stores row t / 4, column c0 + t % 4.
#include "common/frags.wgsl" (FRAG=quant/qgemv_sg_slot.wgsl, N=MT, STEP=2)
  workgroupBarrier();
  let nsg = (WG + ssz - 1u) / ssz;
  let r = lid / 4u;
  let col = c0 + lid % 4u;
  if (lid < 4u * MT && col < p.n) {
    var s = 0.0;
    for (var g = 0u; g < nsg; g = g + 1u) {
      s = s + red[r * NSG + g][lid % 4u];
    }
    store_y(p.y_base + r * p.ldy + col, s);
  }
}
