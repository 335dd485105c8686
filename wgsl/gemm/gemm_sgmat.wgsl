// Subgroup-matrix GEMM (f16 inputs, f32 accumulation): the 'subgroup-matrix' tier.
// y = alpha·op(A)·op(B) + beta·C + bias, y in Y_DT.
//
// A workgroup computes a BM×BN tile of y for batch wid.z. Each BK-deep slice of op(A) and
// op(B) is staged through workgroup memory as f16 (zero-padded past M, N and K, so ragged
// shapes need no other care). The workgroup is a SG_M×SG_N grid of logical subgroups of
// SG_SIZE invocations (the adapter's largest subgroup size); each owns FM×FN result
// matrices of 16×16 (a (FM·16)×(FN·16) block of the tile) and accumulates them in f32 with
// subgroupMatrixMultiplyAccumulate. Transposes are absorbed by the staging layout: a
// slice is stored in the operand's own contiguous order and loaded row- or column-major.
// The epilogue moves one result matrix at a time through a per-subgroup f32 staging area
// and writes it with the common dtype store helpers (exact RNE for f16/bf16 outputs).
//
// Subgroup matrix builtins need subgroup-uniform offsets, so a subgroup's place in the grid
// comes from @builtin(subgroup_id). The workgroup has NSG·SG_SIZE invocations with SG_SIZE
// the adapter's largest subgroup size, so there are at least NSG subgroups; if the
// hardware runs smaller ones, subgroup s and s + NSG compute the same matrices redundantly
// (same inputs, same staged values): correct, just slower.
// Defines: Y_DT, TRANS_A, TRANS_B, HAS_C, HAS_BIAS (A_DT is f16), WIDE_SMEM. Override: SG_SIZE.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
#include "gemm/gemm_pair.wgsl" (NAME=a)
#include "gemm/gemm_pair.wgsl" (NAME=b)

// 128×128 tiles; a 2×4 grid of subgroups, each owning 4×2 result matrices (64×32).
const BM: u32 = 128u;
const BN: u32 = 128u;
#if WIDE_SMEM
// 32-deep slices with padded rows (padding staggers rows across banks): up to 28 KiB of
// workgroup memory, for adapters whose limit allows it (the launcher checks).
const BK: u32 = 32u;
const PAD: u32 = 8u;
#else
// Within WebGPU's default 16 KiB: 16-deep slices, unpadded.
const BK: u32 = 16u;
const PAD: u32 = 0u;
#endif
const SG_M: u32 = 2u;
const SG_N: u32 = 4u;
// The subgroup size the layout assumes: the adapter's largest (32 on NVIDIA and Apple).
override SG_SIZE: u32 = 32u;
const FM: u32 = BM / (SG_M * 16u);
const FN: u32 = BN / (SG_N * 16u);
const NSG: u32 = SG_M * SG_N;

#if TRANS_A
// a is [K, M]: the slice is stored [k][m] and op(A) fragments load column-major.
#define A_LAYOUT col_major
const LDA: u32 = BM + PAD;
const A_ROWS: u32 = BK;
const A_COLS: u32 = BM;
#else
#define A_LAYOUT row_major
const LDA: u32 = BK + PAD;
const A_ROWS: u32 = BM;
const A_COLS: u32 = BK;
#endif
#if TRANS_B
// b is [N, K]: the slice is stored [n][k] and op(B) fragments load column-major.
#define B_LAYOUT col_major
const LDB: u32 = BK + PAD;
const B_ROWS: u32 = BN;
const B_COLS: u32 = BK;
#else
#define B_LAYOUT row_major
const LDB: u32 = BN + PAD;
const B_ROWS: u32 = BK;
const B_COLS: u32 = BN;
#endif

var<workgroup> As: array<f16, A_ROWS * LDA>;
var<workgroup> Bs: array<f16, B_ROWS * LDB>;
var<workgroup> stage: array<f32, NSG * 256u>;
#include "gemm/gemm_sgmat_flush.wgsl"

// Offset of the 16×16 fragment of op(A) at tile rows r0.., slice columns k0.. (and of op(B)
// at slice rows k0.., tile columns c0..) in the staged layouts.
fn a_off(r0: u32, k0: u32) -> u32 {
#if TRANS_A
  return k0 * LDA + r0;
#else
  return r0 * LDA + k0;
#endif
}
fn b_off(k0: u32, c0: u32) -> u32 {
#if TRANS_B
  return c0 * LDB + k0;
#else
  return k0 * LDB + c0;
#endif
}

@compute @workgroup_size(NSG * SG_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) sg_size: u32) {
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  let a0 = p.a_base + wid.z * p.a_bstride;
  let b0 = p.b_base + wid.z * p.b_bstride;
  let sg = sg_id % NSG;
  let sm = sg / SG_N;
  let sn = sg % SG_N;
  // Global extents of the staged slices (rows × contiguous columns) in each layout.
#if TRANS_A
  let a_r_lim = p.k;
  let a_c_lim = p.m;
  let a_ld = p.m;
#else
  let a_r_lim = p.m;
  let a_c_lim = p.k;
  let a_ld = p.k;
#endif
#if TRANS_B
  let b_r_lim = p.n;
  let b_c_lim = p.k;
  let b_ld = p.k;
#else
  let b_r_lim = p.k;
  let b_c_lim = p.n;
  let b_ld = p.n;
#endif

  var acc: array<subgroup_matrix_result<f32, 16, 16>, FM * FN>;
  for (var t = 0u; t < FM * FN; t = t + 1u) {
    acc[t] = subgroup_matrix_result<f32, 16, 16>();
  }

  for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
#if TRANS_A
    let ar0 = k0;
    let ac0 = m0;
#else
    let ar0 = m0;
    let ac0 = k0;
#endif
#include "gemm/gemm_sgmat_pairs.wgsl" (ARR=As, PAIR=pair_a, R0=ar0, C0=ac0, ROWS=A_ROWS, COLS=A_COLS, LD=LDA, BASE=a0, LDG=a_ld, RLIM=a_r_lim, CLIM=a_c_lim)
#if TRANS_B
    let br0 = n0;
    let bc0 = k0;
#else
    let br0 = k0;
    let bc0 = n0;
#endif
#include "gemm/gemm_sgmat_pairs.wgsl" (ARR=Bs, PAIR=pair_b, R0=br0, C0=bc0, ROWS=B_ROWS, COLS=B_COLS, LD=LDB, BASE=b0, LDG=b_ld, RLIM=b_r_lim, CLIM=b_c_lim)
    workgroupBarrier();
    for (var ks = 0u; ks < BK; ks = ks + 16u) {
      var l: array<subgroup_matrix_left<f16, 16, 16>, FM>;
      for (var i = 0u; i < FM; i = i + 1u) {
        l[i] = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&As, a_off((sm * FM + i) * 16u, ks), LDA);
      }
      for (var j = 0u; j < FN; j = j + 1u) {
        let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&Bs, b_off(ks, (sn * FN + j) * 16u), LDB);
        for (var i = 0u; i < FM; i = i + 1u) {
          acc[i * FN + j] = subgroupMatrixMultiplyAccumulate(l[i], r, acc[i * FN + j]);
        }
      }
    }
    workgroupBarrier();
  }

  let ybz = p.y_base + wid.z * p.m * p.n;
  for (var t = 0u; t < FM * FN; t = t + 1u) {
    subgroupMatrixStore<row_major>(&stage, sg * 256u, acc[t], 16u);
    flush(sg, lane, sg_size, m0 + (sm * FM + t / FN) * 16u, n0 + (sn * FN + t % FN) * 16u, ybz);
  }
}
