// Subgroup-matrix GEMM on an f32 8×8×8 configuration (Apple GPUs through Dawn's Metal
// backend report f32→f32 and f16→f16 8×8×8): f16 inputs, f32 accumulation. The tier's
// kernel where the adapter has no f16→f32 16×16×16 configuration (gemm_sgmat.wgsl's).
// y = alpha·op(A)·op(B) + beta·C + bias, y in Y_DT.
//
// Why f32 fragments of f16 data: the f16→f16 configurations accumulate in f16, which the
// gemm bound (f32 accumulation, src/ops/gemm/spec.ts) does not allow; an f16 value is exact
// in f32 and the product of two is exact in f32 too (11 + 11 significant bits ≤ 24), so
// staging the slices as f32 gives the very sums the f16→f32 kernel forms — same bound.
//
// A workgroup computes a 64×64 tile of y for batch wid.z through 16-deep slices of op(A)
// and op(B) staged in workgroup memory as f32 (zero-padded past M, N and K), a 2×4 grid of
// logical subgroups each owning 4×2 result matrices of 8×8 (a 32×16 block). ~11 KiB of
// workgroup memory: within WebGPU's 16 KiB default. Transposes are absorbed by the staging
// layout as in gemm_sgmat.wgsl. Subgroup matrix builtins need subgroup-uniform offsets, so
// a subgroup's place comes from @builtin(subgroup_id) (modulo the grid: smaller hardware
// subgroups compute the same matrices redundantly — correct, just slower).
// Defines: Y_DT, TRANS_A, TRANS_B, HAS_C, HAS_BIAS (A_DT is f16). Override: SG_SIZE.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
#include "gemm/gemm_pair.wgsl" (NAME=a)
#include "gemm/gemm_pair.wgsl" (NAME=b)

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;
// Row padding staggers f32 rows across banks (a multiple of 4 keeps 16-byte alignment).
const PAD: u32 = 4u;
const SG_M: u32 = 2u;
const SG_N: u32 = 4u;
override SG_SIZE: u32 = 32u;
const FM: u32 = BM / (SG_M * 8u);
const FN: u32 = BN / (SG_N * 8u);
const NSG: u32 = SG_M * SG_N;

#if TRANS_A
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

var<workgroup> As: array<f32, A_ROWS * LDA>;
var<workgroup> Bs: array<f32, B_ROWS * LDB>;
var<workgroup> stage: array<f32, NSG * 64u>;

// The 8×8 result subgroup sg staged at stage[sg·64..] goes to y rows r0.., columns c0..
// (masked at M and N) as 8 rows × 2 runs of 4 columns over the subgroup's lanes, through
// the common epilogue and dtype stores.
fn flush8(sg: u32, lane: u32, sg_size: u32, r0: u32, c0: u32, ybz: u32) {
  workgroupBarrier();
  for (var s = lane; s < 16u; s = s + sg_size) {
    let row = r0 + s / 2u;
    let col = c0 + (s % 2u) * 4u;
    if (row < p.m && col < p.n) {
      let e = ybz + row * p.n + col;
      let src = sg * 64u + (s / 2u) * 8u + (s % 2u) * 4u;
      var v: vec4<f32>;
      for (var q = 0u; q < 4u; q = q + 1u) {
        v[q] = epilogue(stage[src + q], e + q, min(col + q, p.n - 1u));
      }
      store_run4(e, v, min(4u, p.n - col));
    }
  }
  workgroupBarrier();
}

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

  var acc: array<subgroup_matrix_result<f32, 8, 8>, FM * FN>;
  for (var t = 0u; t < FM * FN; t = t + 1u) {
    acc[t] = subgroup_matrix_result<f32, 8, 8>();
  }

  for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
#if TRANS_A
    let ar0 = k0;
    let ac0 = m0;
#else
    let ar0 = m0;
    let ac0 = k0;
#endif
#include "gemm/gemm_sgmat8_pairs.wgsl" (ARR=As, PAIR=pair_a, R0=ar0, C0=ac0, ROWS=A_ROWS, COLS=A_COLS, LD=LDA, BASE=a0, LDG=a_ld, RLIM=a_r_lim, CLIM=a_c_lim)
#if TRANS_B
    let br0 = n0;
    let bc0 = k0;
#else
    let br0 = k0;
    let bc0 = n0;
#endif
#include "gemm/gemm_sgmat8_pairs.wgsl" (ARR=Bs, PAIR=pair_b, R0=br0, C0=bc0, ROWS=B_ROWS, COLS=B_COLS, LD=LDB, BASE=b0, LDG=b_ld, RLIM=b_r_lim, CLIM=b_c_lim)
    workgroupBarrier();
    for (var ks = 0u; ks < BK; ks = ks + 8u) {
      var l: array<subgroup_matrix_left<f32, 8, 8>, FM>;
      for (var i = 0u; i < FM; i = i + 1u) {
        l[i] = subgroupMatrixLoad<subgroup_matrix_left<f32, 8, 8>, A_LAYOUT>(&As, a_off((sm * FM + i) * 8u, ks), LDA);
      }
      for (var j = 0u; j < FN; j = j + 1u) {
        let r = subgroupMatrixLoad<subgroup_matrix_right<f32, 8, 8>, B_LAYOUT>(&Bs, b_off(ks, (sn * FN + j) * 8u), LDB);
        for (var i = 0u; i < FM; i = i + 1u) {
          acc[i * FN + j] = subgroupMatrixMultiplyAccumulate(l[i], r, acc[i * FN + j]);
        }
      }
    }
    workgroupBarrier();
  }

  let ybz = p.y_base + wid.z * p.m * p.n;
  for (var t = 0u; t < FM * FN; t = t + 1u) {
    subgroupMatrixStore<row_major>(&stage, sg * 64u, acc[t], 8u);
    flush8(sg, lane, sg_size, m0 + (sm * FM + t / FN) * 8u, n0 + (sn * FN + t % FN) * 8u, ybz);
  }
}
