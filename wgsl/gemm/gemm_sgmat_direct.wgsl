// Subgroup-matrix GEMM with every fragment loaded straight from the storage buffers (f16
// inputs, f32 accumulation): an experiment against gemm_sgmat_vec's workgroup staging
// (PMETAL_GEMM_TUNE=direct=1; the bench times it). y = alpha·op(A)·op(B) + beta·C + bias.
//
// Why: bench --sgmat-ceiling on the H100 (run G1) put gemm_sgmat_vec's multiply-accumulates
// alone at 642 TFLOP/s, 460 with the fragment loads from workgroup memory and a barrier a
// slice, 309 with the registers → workgroup stash (8 scalar f16 stores a word, a second
// barrier), 212 with the global fetch. Here there is no stash and no barrier in the K loop: a
// fragment used by several subgroups of the workgroup (each A fragment by the 4 of its row,
// each B fragment by the 2 of its column) is read from the SM's L1 after the first; the next
// 16-deep step's 6 fragments are loaded before this step's 8 multiply-accumulates, so their
// latency overlaps the math.
//
// A workgroup of 8 subgroups of 32 computes a 128×128 tile of batch wid.z; subgroup (sm, sn)
// of a 2×4 grid owns a 64×32 block, 4×2 accumulators of 16×16 (named variables). Every
// fragment must lie wholly inside its operand: the launcher takes this kernel only where M, N
// and K are multiples of 16 (a fragment past M or N then lies wholly past it: its rows and
// columns are never stored) and a and b start on 8-element boundaries.
// SPLIT_K: workgroup z sums only its K chunk (gemm_common's K_RANGE; chunks are multiples of
// 32). The epilogue is gemm_sgmat_vec's (gemm_sgmat_out.wgsl through f32 staging).
// Defines: Y_DT, TRANS_A, TRANS_B, HAS_C, HAS_BIAS, SPLIT_K (A_DT is f16).
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#define VEC 1
#define WIDE_N 0
#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read> b: array<f16>;

const BM: u32 = 128u;
const BN: u32 = 128u;
var<workgroup> stage: array<f32, 8u * 256u>;
#include "gemm/gemm_sgmat_flush.wgsl" (FRU=16u, STG=256u, RUNS=4u, ITEMS=64u)

#if TRANS_A
#define A_LAYOUT col_major
#else
#define A_LAYOUT row_major
#endif
#if TRANS_B
#define B_LAYOUT col_major
#else
#define B_LAYOUT row_major
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) sg_size: u32) {
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  K_RANGE
  let sg = sg_id % 8u;
  let wr = (sg / 4u) * 64u;
  let wc = (sg % 4u) * 32u;
  // Fragment (i, k) of op(A): element offset, stride, the step between the 4 row fragments
  // and between K steps; likewise (k, j) of op(B).
#if TRANS_A
  // a is [K, M]: op(A)[i][k] at k·M + i.
  let lda = p.m;
  let arow = 16u;
  let ak = 16u * p.m;
  var ao = p.a_base + wid.z * p.a_bstride + k_begin * p.m + m0 + wr;
#else
  let lda = p.k;
  let arow = 16u * p.k;
  let ak = 16u;
  var ao = p.a_base + wid.z * p.a_bstride + (m0 + wr) * p.k + k_begin;
#endif
#if TRANS_B
  // b is [N, K]: op(B)[k][j] at j·K + k.
  let ldb = p.k;
  let bcol = 16u * p.k;
  let bk = 16u;
  var bo = p.b_base + wid.z * p.b_bstride + (n0 + wc) * p.k + k_begin;
#else
  let ldb = p.n;
  let bcol = 16u;
  let bk = 16u * p.n;
  var bo = p.b_base + wid.z * p.b_bstride + k_begin * p.n + n0 + wc;
#endif

  var c00 = subgroup_matrix_result<f32, 16, 16>();
  var c01 = subgroup_matrix_result<f32, 16, 16>();
  var c10 = subgroup_matrix_result<f32, 16, 16>();
  var c11 = subgroup_matrix_result<f32, 16, 16>();
  var c20 = subgroup_matrix_result<f32, 16, 16>();
  var c21 = subgroup_matrix_result<f32, 16, 16>();
  var c30 = subgroup_matrix_result<f32, 16, 16>();
  var c31 = subgroup_matrix_result<f32, 16, 16>();

  if (k_begin < k_end) {
    var l0 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&a, ao, lda);
    var l1 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&a, ao + arow, lda);
    var l2 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&a, ao + 2u * arow, lda);
    var l3 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&a, ao + 3u * arow, lda);
    var r0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&b, bo, ldb);
    var r1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&b, bo + bcol, ldb);
    for (var k0 = k_begin + 16u; k0 < k_end; k0 = k0 + 16u) {
      ao = ao + ak;
      bo = bo + bk;
      // The next step's fragments first, then this step's products.
      let n_l0 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&a, ao, lda);
      let n_l1 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&a, ao + arow, lda);
      let n_l2 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&a, ao + 2u * arow, lda);
      let n_l3 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, A_LAYOUT>(&a, ao + 3u * arow, lda);
      let n_r0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&b, bo, ldb);
      let n_r1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, B_LAYOUT>(&b, bo + bcol, ldb);
#include "gemm/gemm_sgmat_direct_mma.wgsl"
      l0 = n_l0;
      l1 = n_l1;
      l2 = n_l2;
      l3 = n_l3;
      r0 = n_r0;
      r1 = n_r1;
    }
#include "gemm/gemm_sgmat_direct_mma.wgsl"
  }

  let ybz = p.y_base + wid.z * p.m * p.n;
#include "gemm/gemm_sgmat_out.wgsl" (I=0)
#include "gemm/gemm_sgmat_out.wgsl" (I=1)
#include "gemm/gemm_sgmat_out.wgsl" (I=2)
#include "gemm/gemm_sgmat_out.wgsl" (I=3)
}
