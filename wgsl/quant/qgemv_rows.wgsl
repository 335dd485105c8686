// quantized_gemm, decode path (M ≤ 16), the bandwidth kernel: y[i, n] = Σ_k x[i, k]·W[n, k].
// One workgroup owns NR = 4 consecutive rows of W (columns of y) and all MT = M rows of x;
// its WG = 128 invocations split K between them in units of 32 weights: invocation lid
// takes units lid, lid + WG, … of each of the 4 rows. Why (H100, from first principles; the
// column kernel qgemv.wgsl is the measured baseline, ~30% of copy at M = 1):
// - WVEC (MLX, the packed rows on 16-byte boundaries, the launcher's check): a unit is one
//   16-byte word of a 4-bit row (two of an 8-bit one), so a 32-lane subgroup reads 512
//   consecutive bytes of a row per load and each invocation has 4 (8) loads in flight;
//   one scale and one bias per unit (groups are multiples of 32). The column kernel read 4
//   bytes per lane and a scale and a bias per 8 weights;
// - nibbles become floats through the exponent trick (q | 0x4b000000 is 2²³ + q, exact),
//   integer ALU work instead of int→float conversions (a quarter of the FMA rate on NVIDIA);
//   the decoded weight is s·q + b as decode.wgsl computes it (s·q exact, one rounding);
// - one load of x serves the 4 rows of W (L1 traffic of x: M/4 times 4× the weight bytes
//   at 4 bits and 16-bit x, instead of M times);
// - GGUF formats (and MLX off 16-byte boundaries) read a unit's bytes once per unit where
//   quant/decode32.wgsl has a reader for the format (Q4_0, Q4_K), else decode8 per 8
//   weights, and keep the other gains.
// The M·4 sums of an invocation live in named registers (qgemv_rows_slot.wgsl) and are added
// across the workgroup through workgroup memory, 4 rows of x at a time (16 groups of 8
// partials, then the 16 group sums). f32 accumulation in any order: the bound of
// src/ops/quantized_gemm/spec.ts.
// Defines: the format's (launchers/quant.ts), X_DT, Y_DT, MT (= M, 1…16), WVEC, GALIGN.
#ifndef MT
#define MT 1
#endif
// 16-byte weight words are MLX's only (GGUF blocks are 18, 34, 144 or 210 bytes).
#if WVEC && !MLX
#define WVEC 0
#endif
#include "quant/qgemm_common.wgsl"
#include "common/red_groups16.wgsl"

const NR: u32 = 4u;
const WG: u32 = 128u;
const ROUNDS: u32 = (MT + 3u) / 4u;
var<workgroup> red: array<vec4<f32>, 4u * WG>;

#include "quant/qgemv_part.wgsl"
#if !WVEC
#include "quant/decode32.wgsl"
#endif
#if WVEC
#if !BITS8 && S_DT == 1
// 4-bit with f16 scales: nibbles 0–4 of a word are masked in place (q·16^i as a float,
// exact below 2²³) and multiplied by s·16^-i, nibbles 5–7 after one shift by 20: 25
// operations per 8 weights instead of 31. s·16^-i is exact (an f16 scale is at least 2^-24,
// so at least 2^-40: no f32 underflow) and so is (q·16^i)·(s·16^-i) = s·q: the same s·q + b
// with one rounding. Per unit and row: the 8 scaled scales (sa for nibbles 0–3, sb for 4–7).
struct Sc {
  a: vec4<f32>,
  b: vec4<f32>,
  z: f32,
}
fn scaled(s: f32, z: f32) -> Sc {
  return Sc(s * vec4<f32>(1.0, 0.0625, 0.00390625, 0.000244140625), s * vec4<f32>(0.0000152587890625, 1.0, 0.0625, 0.00390625), z);
}
fn unit8s(v0: vec4<u32>, j: u32, sc: Sc) -> W8 {
  let x = v0[j];
  let y = x >> 20u;
  let qa = bitcast<vec4<f32>>((vec4<u32>(x) & vec4<u32>(0xfu, 0xf0u, 0xf00u, 0xf000u)) | vec4<u32>(MAGIC)) - vec4<f32>(8388608.0);
  let qb = bitcast<vec4<f32>>((vec4<u32>(x, y, y, y) & vec4<u32>(0xf0000u, 0xfu, 0xf0u, 0xf00u)) | vec4<u32>(MAGIC)) - vec4<f32>(8388608.0);
  return W8(qa * sc.a + sc.z, qb * sc.b + sc.z);
}
#define SCALED 1
#endif
// Weights 8j … 8j+7 of one row's unit (4-bit: word v0, 32-bit lane j; 8-bit: words v0, v1,
// lanes 2j, 2j+1 of the pair), decoded as s·q + b.
fn unit8(v0: vec4<u32>, v1: vec4<u32>, j: u32, s: f32, b: f32) -> W8 {
#if BITS8
  let lo = select(v1[(2u * j) & 3u], v0[(2u * j) & 3u], j < 2u);
  let hi = select(v1[(2u * j + 1u) & 3u], v0[(2u * j + 1u) & 3u], j < 2u);
  let qa = magic4(vec4<u32>(lo, lo >> 8u, lo >> 16u, lo >> 24u) & vec4<u32>(255u));
  let qb = magic4(vec4<u32>(hi, hi >> 8u, hi >> 16u, hi >> 24u) & vec4<u32>(255u));
#else
  let x = v0[j];
  let qa = magic4(vec4<u32>(x, x >> 4u, x >> 8u, x >> 12u) & vec4<u32>(15u));
  let qb = magic4(vec4<u32>(x >> 16u, x >> 20u, x >> 24u, x >> 28u) & vec4<u32>(15u));
#endif
  return W8(qa * s + b, qb * s + b);
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c0 = wid.x * NR;
  let units = p.k / 32u;
  // Rows past N reread the last row of W (harmless) and are not stored.
  let n0 = min(c0, p.n - 1u);
  let n1 = min(c0 + 1u, p.n - 1u);
  let n2 = min(c0 + 2u, p.n - 1u);
  let n3 = min(c0 + 3u, p.n - 1u);
#include "common/frags.wgsl" (FRAG=quant/qgemv_rows_slot.wgsl, N=MT, STEP=0)
  for (var u = lid; u < units; u = u + WG) {
#if WVEC
    // The unit's words of the 4 rows (16-byte indices: w_base and row_units are multiples of 4).
#if BITS8
    let wpu = 2u;
#else
    let wpu = 1u;
#endif
    let rv = p.row_units / 4u;
    let wv = p.w_base / 4u + u * wpu;
    let a0 = wq4[wv + n0 * rv];
    let a1 = wq4[wv + n1 * rv];
    let a2 = wq4[wv + n2 * rv];
    let a3 = wq4[wv + n3 * rv];
#if BITS8
    let b0 = wq4[wv + n0 * rv + 1u];
    let b1 = wq4[wv + n1 * rv + 1u];
    let b2 = wq4[wv + n2 * rv + 1u];
    let b3 = wq4[wv + n3 * rv + 1u];
#else
    let b0 = a0;
    let b1 = a1;
    let b2 = a2;
    let b3 = a3;
#endif
    let g = p.s_base + (u * 32u) / p.group;
    let s0 = load_scales(g + n0 * p.gpr);
    let s1 = load_scales(g + n1 * p.gpr);
    let s2 = load_scales(g + n2 * p.gpr);
    let s3 = load_scales(g + n3 * p.gpr);
    let z0 = load_biases(g + n0 * p.gpr);
    let z1 = load_biases(g + n1 * p.gpr);
    let z2 = load_biases(g + n2 * p.gpr);
    let z3 = load_biases(g + n3 * p.gpr);
#if SCALED
    let c0s = scaled(s0, z0);
    let c1s = scaled(s1, z1);
    let c2s = scaled(s2, z2);
    let c3s = scaled(s3, z3);
#endif
#else
    let v0 = unit_load(n0, u);
    let v1 = unit_load(n1, u);
    let v2 = unit_load(n2, u);
    let v3 = unit_load(n3, u);
#endif
    for (var j = 0u; j < 4u; j = j + 1u) {
#if WVEC && SCALED
      let w = Part(unit8s(a0, j, c0s), unit8s(a1, j, c1s), unit8s(a2, j, c2s), unit8s(a3, j, c3s));
#elif WVEC
      let w = Part(unit8(a0, b0, j, s0, z0), unit8(a1, b1, j, s1, z1), unit8(a2, b2, j, s2, z2), unit8(a3, b3, j, s3, z3));
#else
      let w = Part(unit_part(v0, j), unit_part(v1, j), unit_part(v2, j), unit_part(v3, j));
#endif
      let e = p.x_base + u * 32u + 8u * j;
#include "common/frags.wgsl" (FRAG=quant/qgemv_rows_slot.wgsl, N=MT, STEP=1)
    }
  }

  // 4 rows of x per round: every invocation's 4 vectors, then 16 groups of WG/16, then 16.
  for (var q = 0u; q < ROUNDS; q = q + 1u) {
    workgroupBarrier();
#include "common/frags.wgsl" (FRAG=quant/qgemv_rows_slot.wgsl, N=MT, STEP=2)
    workgroupBarrier();
    red_groups16(lid, 4u);
    workgroupBarrier();
    // Invocation t < 16: row 4q + t / 4 of x, column c0 + t % 4.
    let r = 4u * q + lid / 4u;
    let col = c0 + lid % 4u;
    if (lid < 16u && r < MT && col < p.n) {
      var s = 0.0;
      for (var g = 0u; g < 16u; g = g + 1u) {
        s = s + red[(lid / 4u) * WG + g][lid % 4u];
      }
      store_y(p.y_base + r * p.ldy + col, s);
    }
  }
}
