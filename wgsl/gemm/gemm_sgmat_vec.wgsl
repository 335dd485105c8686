// Subgroup-matrix GEMM, aligned fast path (f16 inputs, f32 accumulation): the
// 'subgroup-matrix' tier where every operand row is a whole number of 16-byte vectors.
// y = alpha·op(A)·op(B) + beta·C + bias, y in Y_DT.
//
// The launcher picks this kernel when a and b start on an 8-element boundary and their
// contiguous dimension (K or M for a, N or K for b) is a multiple of 8, so each vec4<u32>
// (8 halves) read from global memory lies wholly inside or wholly outside the operand:
// ragged M, N and K still work (vectors past the edge load as zeros). Otherwise
// gemm_sgmat.wgsl (element pairs) runs.
//
// A workgroup of 8 subgroups of 32 computes a 128×BN tile (BN = 128, or 256 with WIDE_N);
// subgroup (sm, sn) of a 2×4 grid owns a 64×(BN/4) block: 4×(BN/64) accumulators of 16×16,
// held as named variables (no dynamically indexed arrays of matrices). Per BK-deep K slice
// each invocation moves its vectors global → registers (gemm_sgmat_fetch) → workgroup
// memory (gemm_sgmat_stash); the next slice is fetched into registers before the current
// one is multiplied (gemm_sgmat_slice), so global latency overlaps the matrix work. Rows
// of the staged slices are padded by 8 halves (16 bytes) against bank conflicts.
// Single buffer: two barriers per slice. DBUF: two buffers and one barrier per slice (the
// K loop takes two slices per trip so each buffer's base is a literal); with WIDE_N it
// fits 48 KiB only with SHALLOW_K (16-deep slices).
// Everything in the K loop is inline in main with literal or provably bounded offsets:
// Dawn's robustness transform then adds no clamp or branch to any workgroup access
// (measured on an H100: the same loop through helper functions with offset parameters,
// or with one code path per subgroup, ran at half the speed).
// The epilogue: one 16×16 result at a time through f32 staging (gemm_sgmat_out).
// SPLIT_K: workgroup z sums only its K chunk into y's batch z (f32 partials; see gemm_common).
// NORM_A / NORM_B: that operand is RMS-normalised (and dropout-masked) between fetch and
// stash, rounded to f16 for the matrix units (gemm_sgmat_norm.wgsl; fused_norm_lora).
// LORA_K: a rank-r term lora_a·op(lora_b) joins the sum as r more K columns after the base
// loop (gemm_sgmat_lora.wgsl, bound at 9 and 10; fused_lora_forward / backward; not with
// SPLIT_K, NORM_A or NORM_B); LORA_FIRST: before it instead (the accumulators start from the
// LoRA term; the f32 sums' order is not part of the bound). LORA_EPI (with LORA_K's bindings
// and fields): the term instead joins each accumulator in the epilogue, 16-deep products from
// operands staged once per tile (gemm_sgmat_lora_epi.wgsl; r ≤ 32), leaving the loop as is.
// GU (fused_mlp's gate/up pair, launchers/gu_gemm.ts): b is W_g and b2 (binding 11) W_u, both
// [I, K] (TRANS_B); the tile's BN columns are BN/2 columns of h from each, interleaved per
// subgroup block (gemm_sgmat_fetch_gu.wgsl), and the epilogue writes h = silu(g)·u [M, I]
// (p.n = I) instead of g and u (gemm_sgmat_gu_out.wgsl) — one pass over x, no g or u in
// memory, no swiglu dispatch. Not with SPLIT_K, NORM_B, the LoRA terms, HAS_C or HAS_BIAS.
// QKV (fused_norm_qkv's projections, launchers/qkv_gemm.ts): b is W_q, b2 (11) W_k, b3 (12)
// W_v, all [N_s, K] (TRANS_B), read as one B of N_q + N_k + N_v columns, each tile within one
// weight (gemm_sgmat_fetch_qkv.wgsl), its results stored to q (y), k (y2, 13) or v (y3, 14)
// (gemm_sgmat_qkv_out.wgsl) — one dispatch for the three products. Not with GU, SPLIT_K,
// NORM_B, the LoRA terms, HAS_C or HAS_BIAS.
// Defines: Y_DT, TRANS_A, TRANS_B, HAS_C, HAS_BIAS, WIDE_N, SHALLOW_K, DBUF, SPLIT_K, NORM_A,
// NORM_B, LORA_K, LORA_FIRST, LORA_EPI, GU, QKV (A_DT is f16).
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#define VEC 1
#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<u32>>;
#if GU || QKV
@group(0) @binding(11) var<storage, read> b2: array<vec4<u32>>;
#endif
#if QKV
@group(0) @binding(12) var<storage, read> b3: array<vec4<u32>>;
#include "common/tensor.wgsl" (NAME=y2, DT=Y_DT, BINDING=13, WRITE=1)
#include "common/tensor.wgsl" (NAME=y3, DT=Y_DT, BINDING=14, WRITE=1)
#include "gemm/gemm_run4.wgsl" (NAME=y2)
#include "gemm/gemm_run4.wgsl" (NAME=y3)
#endif
#if LORA_K
@group(0) @binding(9) var<storage, read> lora_a: array<vec4<u32>>;
@group(0) @binding(10) var<storage, read> lora_b: array<vec4<u32>>;
#endif

const BM: u32 = 128u;
#if WIDE_N
const BN: u32 = 256u;
#else
const BN: u32 = 128u;
#endif
#if SHALLOW_K
const BK: u32 = 16u;
#else
const BK: u32 = 32u;
#endif
const PAD: u32 = 8u;
const WGT: u32 = 256u;
// Columns of a subgroup's block.
const WN: u32 = BN / 4u;

#include "gemm/gemm_sgmat_slices.wgsl"
#if DBUF
const NBUF: u32 = 2u;
#else
const NBUF: u32 = 1u;
#endif

var<workgroup> As: array<f16, NBUF * A_SZ>;
var<workgroup> Bs: array<f16, NBUF * B_SZ>;
var<private> ra: array<vec4<u32>, A_PER>;
var<private> rb: array<vec4<u32>, B_PER>;
var<workgroup> stage: array<f32, 8u * 256u>;
#if NORM_A || NORM_B
#include "gemm/gemm_sgmat_norm.wgsl"
#endif

#include "gemm/gemm_sgmat_flush.wgsl" (FRU=16u, STG=256u, RUNS=4u, ITEMS=64u)
#if GU
var<workgroup> stage2: array<f32, 8u * 256u>;
#include "common/sigmoid.wgsl"
#include "gemm/gemm_sgmat_gu_flush.wgsl"
#endif
#if QKV
#include "gemm/gemm_sgmat_qkv_flush.wgsl"
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) sg_size: u32) {
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  K_RANGE
  let av = (p.a_base + wid.z * p.a_bstride) / 8u;
  let bv = (p.b_base + wid.z * p.b_bstride) / 8u;
  // Subgroups beyond 8 (smaller hardware subgroups) redo the work of subgroup sg % 8.
  let sg = sg_id % 8u;
  let wr = (sg / 4u) * 64u;
  let wc = (sg % 4u) * WN;
#if GU
  // The tile's first h column, W_u's first word, and this subgroup's first h column.
  let n0h = wid.x * (BN / 2u);
  let b2v = p.b2_base / 8u;
  let wch = (sg % 4u) * (WN / 2u);
#endif
#if QKV
  // The tile's weight (0 W_q, 1 W_k, 2 W_v), its first virtual column, its rows, and its first word.
  let seg = select(select(2u, 1u, n0 < p.n_v0), 0u, n0 < p.n_k0);
  let s0 = select(select(p.n_v0, p.n_k0, seg == 1u), 0u, seg == 0u);
  let sn = select(select(p.n - p.n_v0, p.n_v0 - p.n_k0, seg == 1u), p.n_k0, seg == 0u);
  let bsv = select(select(p.b3_base, p.b2_base, seg == 1u), p.b_base, seg == 0u) / 8u;
#endif

  var c00 = subgroup_matrix_result<f32, 16, 16>();
  var c01 = subgroup_matrix_result<f32, 16, 16>();
  var c10 = subgroup_matrix_result<f32, 16, 16>();
  var c11 = subgroup_matrix_result<f32, 16, 16>();
  var c20 = subgroup_matrix_result<f32, 16, 16>();
  var c21 = subgroup_matrix_result<f32, 16, 16>();
  var c30 = subgroup_matrix_result<f32, 16, 16>();
  var c31 = subgroup_matrix_result<f32, 16, 16>();
#if WIDE_N
  var c02 = subgroup_matrix_result<f32, 16, 16>();
  var c03 = subgroup_matrix_result<f32, 16, 16>();
  var c12 = subgroup_matrix_result<f32, 16, 16>();
  var c13 = subgroup_matrix_result<f32, 16, 16>();
  var c22 = subgroup_matrix_result<f32, 16, 16>();
  var c23 = subgroup_matrix_result<f32, 16, 16>();
  var c32 = subgroup_matrix_result<f32, 16, 16>();
  var c33 = subgroup_matrix_result<f32, 16, 16>();
#endif

#if LORA_K && LORA_FIRST
#include "gemm/gemm_sgmat_lora.wgsl"
#endif
#include "gemm/gemm_sgmat_fetch.wgsl" (KN=k_begin)
#if DBUF
#include "gemm/gemm_sgmat_stash.wgsl" (BUF=0)
  workgroupBarrier();
  // Two slices per trip, buffer 0 then buffer 1.
  for (var k0 = k_begin; k0 < k_end; k0 = k0 + 2u * BK) {
    let k1 = k0 + BK;
    if (k1 < k_end) {
#include "gemm/gemm_sgmat_fetch.wgsl" (KN=k1)
    }
#include "gemm/gemm_sgmat_slice.wgsl" (BUF=0)
    if (k1 >= k_end) {
      break;
    }
#include "gemm/gemm_sgmat_stash.wgsl" (BUF=1)
    workgroupBarrier();
    let k2 = k1 + BK;
    if (k2 < k_end) {
#include "gemm/gemm_sgmat_fetch.wgsl" (KN=k2)
    }
#include "gemm/gemm_sgmat_slice.wgsl" (BUF=1)
    if (k2 < k_end) {
#include "gemm/gemm_sgmat_stash.wgsl" (BUF=0)
    }
    workgroupBarrier();
  }
#else
  for (var k0 = k_begin; k0 < k_end; k0 = k0 + BK) {
#include "gemm/gemm_sgmat_stash.wgsl" (BUF=0)
    workgroupBarrier();
    let k1 = k0 + BK;
    if (k1 < k_end) {
#include "gemm/gemm_sgmat_fetch.wgsl" (KN=k1)
    }
#include "gemm/gemm_sgmat_slice.wgsl" (BUF=0)
    workgroupBarrier();
  }
#endif
#if LORA_K && !LORA_FIRST && !LORA_EPI
#include "gemm/gemm_sgmat_lora.wgsl"
#endif
#if LORA_EPI
#include "gemm/gemm_sgmat_lora_epi.wgsl"
#endif

  let ybz = p.y_base + wid.z * p.m * p.n;
#if QKV
#include "gemm/gemm_sgmat_qkv_out.wgsl" (I=0)
#include "gemm/gemm_sgmat_qkv_out.wgsl" (I=1)
#include "gemm/gemm_sgmat_qkv_out.wgsl" (I=2)
#include "gemm/gemm_sgmat_qkv_out.wgsl" (I=3)
#elif GU
#include "gemm/gemm_sgmat_gu_out.wgsl" (I=0)
#include "gemm/gemm_sgmat_gu_out.wgsl" (I=1)
#include "gemm/gemm_sgmat_gu_out.wgsl" (I=2)
#include "gemm/gemm_sgmat_gu_out.wgsl" (I=3)
#else
#include "gemm/gemm_sgmat_out.wgsl" (I=0)
#include "gemm/gemm_sgmat_out.wgsl" (I=1)
#include "gemm/gemm_sgmat_out.wgsl" (I=2)
#include "gemm/gemm_sgmat_out.wgsl" (I=3)
#endif
}
