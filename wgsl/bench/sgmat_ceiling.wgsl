// The ceiling of each stage of the subgroup-matrix gemm's K loop on an adapter:
// `pmetal bench --sgmat-ceiling` times this kernel with STAGE = 0..3, each adding one stage
// of gemm_sgmat_vec.wgsl's single-buffered loop — through that kernel's own pieces
// (gemm_sgmat_fetch, _stash, _slice), at its default 128×256 tile (8 subgroups, 64×64 and
// 16 accumulators each), f16 inputs, f32 accumulation:
//   0  multiply-accumulate only, on fragments loaded once (the matrix units' rate);
//   1  + fragment loads from workgroup memory every 16-deep step, a barrier per 32-deep slice;
//   2  + each slice stashed from registers into workgroup memory (a second barrier);
//   3  + each slice fetched from a 4096×4096 A and B in global memory (the real loop; k
//      wraps, so any number of slices can run).
// ITER slices per workgroup; the accumulators are stored at the end so nothing is dead.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

override ITER: u32 = 1024;

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
// A and B (4096×4096 f16 each, row-major) as 16-byte words.
@group(0) @binding(1) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<u32>>;

// gemm_sgmat_vec.wgsl's names, at its default variant (WIDE_N, 32-deep slices, no transposes).
struct Dims {
  m: u32,
  n: u32,
  k: u32,
}
const p = Dims(4096u, 4096u, 4096u);
#define WIDE_N 1
#define TRANS_A 0
#define TRANS_B 0
#define A_LAYOUT row_major
#define B_LAYOUT row_major
const BM: u32 = 128u;
const BN: u32 = 256u;
const BK: u32 = 32u;
const WGT: u32 = 256u;
const WN: u32 = BN / 4u;
const LDA: u32 = BK + 8u;
const LDB: u32 = BN + 8u;
const A_V: u32 = BK / 8u;
const B_V: u32 = BN / 8u;
const A_PER: u32 = BM * A_V / WGT;
const B_PER: u32 = BK * B_V / WGT;
const A_SZ: u32 = BM * LDA;
const B_SZ: u32 = BK * LDB;
var<workgroup> As: array<f16, A_SZ>;
var<workgroup> Bs: array<f16, B_SZ>;
var<private> ra: array<vec4<u32>, A_PER>;
var<private> rb: array<vec4<u32>, B_PER>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32) {
  let sg = sg_id % 8u;
  // The workgroup's tile of the 32×16 tiles of y; av/bv: the operands' first words.
  let m0 = (wid.x % 32u) * BM;
  let n0 = ((wid.x / 32u) % 16u) * BN;
  let av = 0u;
  let bv = 0u;
  // The fetch's K extent (gemm_common.wgsl's K_RANGE in the real kernel).
  let k_end = p.k;
#include "gemm/gemm_sgmat_fetch.wgsl" (KN=0u)
  var c00 = subgroup_matrix_result<f32, 16, 16>();
  var c01 = subgroup_matrix_result<f32, 16, 16>();
  var c02 = subgroup_matrix_result<f32, 16, 16>();
  var c03 = subgroup_matrix_result<f32, 16, 16>();
  var c10 = subgroup_matrix_result<f32, 16, 16>();
  var c11 = subgroup_matrix_result<f32, 16, 16>();
  var c12 = subgroup_matrix_result<f32, 16, 16>();
  var c13 = subgroup_matrix_result<f32, 16, 16>();
  var c20 = subgroup_matrix_result<f32, 16, 16>();
  var c21 = subgroup_matrix_result<f32, 16, 16>();
  var c22 = subgroup_matrix_result<f32, 16, 16>();
  var c23 = subgroup_matrix_result<f32, 16, 16>();
  var c30 = subgroup_matrix_result<f32, 16, 16>();
  var c31 = subgroup_matrix_result<f32, 16, 16>();
  var c32 = subgroup_matrix_result<f32, 16, 16>();
  var c33 = subgroup_matrix_result<f32, 16, 16>();
#if STAGE == 0
  let ao = (sg / 4u) * 64u * LDA;
  let bo = (sg % 4u) * WN;
  let l0 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As, ao, LDA);
  let l1 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As, ao + 16u * LDA, LDA);
  let l2 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As, ao + 32u * LDA, LDA);
  let l3 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As, ao + 48u * LDA, LDA);
  let r0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs, bo, LDB);
  let r1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs, bo + 16u, LDB);
  let r2 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs, bo + 32u, LDB);
  let r3 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs, bo + 48u, LDB);
  for (var it = 0u; it < 2u * ITER; it = it + 1u) {
#include "bench/sgmat_mma16.wgsl"
  }
#else
  for (var it = 0u; it < ITER; it = it + 1u) {
#if STAGE >= 2
#include "gemm/gemm_sgmat_stash.wgsl" (BUF=0)
    workgroupBarrier();
#if STAGE == 3
    let k1 = ((it + 1u) * BK) % p.k;
#include "gemm/gemm_sgmat_fetch.wgsl" (KN=k1)
#else
    // Fresh register values each slice, so the stash cannot be hoisted.
    for (var i = 0u; i < A_PER; i = i + 1u) {
      ra[i] = ra[i] ^ vec4<u32>(it);
    }
    for (var i = 0u; i < B_PER; i = i + 1u) {
      rb[i] = rb[i] ^ vec4<u32>(it);
    }
#endif
#endif
#include "gemm/gemm_sgmat_slice.wgsl" (BUF=0)
    workgroupBarrier();
  }
#endif
  let o = (wid.x * 8u + sg) * 4096u;
  subgroupMatrixStore<row_major>(&out, o, c00, 16u);
  subgroupMatrixStore<row_major>(&out, o + 256u, c01, 16u);
  subgroupMatrixStore<row_major>(&out, o + 512u, c02, 16u);
  subgroupMatrixStore<row_major>(&out, o + 768u, c03, 16u);
  subgroupMatrixStore<row_major>(&out, o + 1024u, c10, 16u);
  subgroupMatrixStore<row_major>(&out, o + 1280u, c11, 16u);
  subgroupMatrixStore<row_major>(&out, o + 1536u, c12, 16u);
  subgroupMatrixStore<row_major>(&out, o + 1792u, c13, 16u);
  subgroupMatrixStore<row_major>(&out, o + 2048u, c20, 16u);
  subgroupMatrixStore<row_major>(&out, o + 2304u, c21, 16u);
  subgroupMatrixStore<row_major>(&out, o + 2560u, c22, 16u);
  subgroupMatrixStore<row_major>(&out, o + 2816u, c23, 16u);
  subgroupMatrixStore<row_major>(&out, o + 3072u, c30, 16u);
  subgroupMatrixStore<row_major>(&out, o + 3328u, c31, 16u);
  subgroupMatrixStore<row_major>(&out, o + 3584u, c32, 16u);
  subgroupMatrixStore<row_major>(&out, o + 3840u, c33, 16u);
}
