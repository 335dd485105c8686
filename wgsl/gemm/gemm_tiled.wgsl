// Tiled shared-memory GEMM (the portable tier): y = alpha·op(A)·op(B) + beta·C + bias.
// A workgroup of 16×16 invocations computes a BM×BN tile of y (64×64, or 128×128 with
// LARGE_TILE) for batch wid.z, staging 16-deep slices of op(A) and op(B) through workgroup
// memory as f32, both as [k][row] so the inner loop reads them as vec4s. Invocation
// (tx, ty) owns R×R blocks of 4×4 results (R = 1, or 2 with LARGE_TILE), block (i, j) at
// rows i·64 + 4·ty.., columns j·64 + 4·tx..: the four vec4 reads of a step hit 16
// consecutive vec4s (no bank conflicts), and each result row goes out as a run of four.
// Each invocation moves runs of 4 consecutive elements of an operand (along its contiguous
// dimension) global → registers → workgroup memory; the next slice is fetched into
// registers before the current one is multiplied (global latency overlaps the FMAs).
// VEC=1 (the launcher's choice where bases and contiguous dimensions are multiples of 4)
// reads each run as one vector; VEC=0 reads elements (load_a/load_b, any alignment).
// Ragged edges load zeros and mask the stores.
// NORM_A / NORM_B: that operand is RMS-normalised (and dropout-masked) as it is fetched,
// gemm/gemm_norm.wgsl (fused_norm_lora: the normalised activations are never stored).
// SWIGLU: a second B operand and accumulator set, y = silu(g)·u (gemm/gemm_swiglu.wgsl;
// never with NORM_A / NORM_B, which take the same bindings, nor with VEC or HAS_BIAS).
// LORA_K: a rank-r term lora_a·op(lora_b) joins the sum as r more K columns after the base
// loop (gemm/gemm_tiled_lora.wgsl, bound at 9 and 10; fused_lora_forward / backward; only
// with a untransposed, never with SPLIT_K, NORM_A, NORM_B or SWIGLU).
// Defines: A_DT, Y_DT, TRANS_A, TRANS_B, HAS_C, HAS_BIAS, LARGE_TILE, VEC, NORM_A, NORM_B,
// SWIGLU, HAS_C2, LORA_K.

#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
#if VEC
#include "gemm/gemm_vec.wgsl"
#endif
#if NORM_A || NORM_B
#include "gemm/gemm_norm.wgsl"
#endif
#ifndef SWIGLU
#define SWIGLU 0
#endif
#if SWIGLU
#include "gemm/gemm_swiglu.wgsl"
#endif

#if LARGE_TILE
const R: u32 = 2u;
#else
const R: u32 = 1u;
#endif
const BM: u32 = 64u * R;
const BN: u32 = 64u * R;
const BK: u32 = 16u;
const WG: u32 = 256u;
// Runs of 4 per slice and per invocation.
const A_PER: u32 = BM * BK / 4u / WG;
const B_PER: u32 = BN * BK / 4u / WG;

var<workgroup> As: array<vec4<f32>, BK * BM / 4u>;
var<workgroup> Bs: array<vec4<f32>, BK * BN / 4u>;
var<private> ra: array<vec4<f32>, A_PER>;
var<private> rb: array<vec4<f32>, B_PER>;
#if SWIGLU
var<workgroup> Bs2: array<vec4<f32>, BK * BN / 4u>;
var<private> rb2: array<vec4<f32>, B_PER>;
#endif

// Run t of a slice: (row, first column) in the operand's stored layout, where columns are
// its contiguous dimension (`contiguous_is_k`: whether that is k); `rows` is the tile width.
fn run_rc(t: u32, contiguous_is_k: bool, rows: u32) -> vec2<u32> {
  if (contiguous_is_k) {
    // Rows are m (or n): t % rows picks the row so stores to [k][row] are conflict-free.
    return vec2<u32>(t % rows, (t / rows) * 4u);
  }
  // Rows are k, columns m (or n): 4-runs along the tile width.
  return vec2<u32>(t / (rows / 4u), (t % (rows / 4u)) * 4u);
}

// run_a, run_b: elements g … g+3 of a and b (gemm_tiled_run.wgsl).
#include "gemm/gemm_tiled_run.wgsl" (NAME=a, VECTOR=VEC)
#include "gemm/gemm_tiled_run.wgsl" (NAME=b, VECTOR=VEC)

// Elements of a run within limits: `c` its first index along a dimension of length `lim`
// (row index `r` against `rlim`).
fn run_cnt(r: u32, rlim: u32, c: u32, lim: u32) -> u32 {
  if (r >= rlim || c >= lim) {
    return 0u;
  }
  return min(4u, lim - c);
}

fn fetch(lid: u32, k0: u32, k_end: u32, m0: u32, n0: u32, a0: u32, b0: u32) {
#include "gemm/gemm_tiled_fetch_op.wgsl" (PER=A_PER, REG=ra, RUN=run_a, CONTIG_K=!TRANS_A, TILE=BM, O0=m0, EXT=p.m, BASE=a0, LDK=p.k, NORM=NORM_A)
#include "gemm/gemm_tiled_fetch_op.wgsl" (PER=B_PER, REG=rb, RUN=run_b, CONTIG_K=TRANS_B, TILE=BN, O0=n0, EXT=p.n, BASE=b0, LDK=p.k, NORM=NORM_B)
#if SWIGLU
#include "gemm/gemm_tiled_fetch_op.wgsl" (PER=B_PER, REG=rb2, RUN=run_b2, CONTIG_K=TRANS_B, TILE=BN, O0=n0, EXT=p.n, BASE=sp.b2_base, LDK=p.k, NORM=0)
#endif
}

#if LORA_K
#include "gemm/gemm_tiled_lora.wgsl"
#endif

fn stash(lid: u32) {
#include "gemm/gemm_tiled_stash_op.wgsl" (PER=A_PER, REG=ra, ARR=As, CONTIG_K=!TRANS_A, TILE=BM)
#include "gemm/gemm_tiled_stash_op.wgsl" (PER=B_PER, REG=rb, ARR=Bs, CONTIG_K=TRANS_B, TILE=BN)
#if SWIGLU
#include "gemm/gemm_tiled_stash_op.wgsl" (PER=B_PER, REG=rb2, ARR=Bs2, CONTIG_K=TRANS_B, TILE=BN)
#endif
}

// Row `row`, columns c0..c0+3 of y (masked) from the f32 sums s (SWIGLU: g's, and u's in t).
fn store_row(row: u32, c0: u32, ybz: u32, s: vec4<f32>, t: vec4<f32>) {
  if (row >= p.m || c0 >= p.n) {
    return;
  }
  let e = ybz + row * p.n + c0;
  var v: vec4<f32>;
  for (var q = 0u; q < 4u; q = q + 1u) {
    v[q] = epilogue(s[q], e + q, min(c0 + q, p.n - 1u));
#if SWIGLU
    v[q] = silu_mul(v[q], epilogue2(t[q], e + q));
#endif
  }
  store_run4(e, v, min(4u, p.n - c0));
}

// Rows r0..r0+3, columns c0..c0+3 of y from the sums s0..s3 (one per row; t0..t3 the
// second accumulator set's under SWIGLU, unused otherwise).
fn store_block(r0: u32, c0: u32, ybz: u32, s0: vec4<f32>, s1: vec4<f32>, s2: vec4<f32>, s3: vec4<f32>, t0: vec4<f32>, t1: vec4<f32>, t2: vec4<f32>, t3: vec4<f32>) {
  store_row(r0, c0, ybz, s0, t0);
  store_row(r0 + 1u, c0, ybz, s1, t1);
  store_row(r0 + 2u, c0, ybz, s2, t2);
  store_row(r0 + 3u, c0, ybz, s3, t3);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  let a0 = p.a_base + wid.z * p.a_bstride;
  let b0 = p.b_base + wid.z * p.b_bstride;
  K_RANGE
  let tx = lid % 16u;
  let ty = lid / 16u;

  // acc[(bi·4 + i)·R + bj]: row bi·64 + 4·ty + i, columns bj·64 + 4·tx + 0..3.
  var acc: array<vec4<f32>, 4u * R * R>;
#if SWIGLU
  // The second set: u's sums.
  var acc2: array<vec4<f32>, 4u * R * R>;
#endif
  for (var i = 0u; i < 4u * R * R; i = i + 1u) {
    acc[i] = vec4<f32>();
#if SWIGLU
    acc2[i] = vec4<f32>();
#endif
  }

  fetch(lid, k_begin, k_end, m0, n0, a0, b0);
  for (var k0 = k_begin; k0 < k_end; k0 = k0 + BK) {
    stash(lid);
    workgroupBarrier();
    if (k0 + BK < k_end) {
      fetch(lid, k0 + BK, k_end, m0, n0, a0, b0);
    }
#include "gemm/gemm_tiled_slice.wgsl" (AT=slice)
    workgroupBarrier();
  }
#if LORA_K
  // The rank-r term as r more K columns (gemm_tiled_lora.wgsl), after the base loop's last
  // barrier: fetch, stash, barrier, the slice's products, barrier.
  for (var kr = 0u; kr < p.lora_r; kr = kr + BK) {
    fetch_lora(lid, kr, m0, n0);
    stash(lid);
    workgroupBarrier();
#include "gemm/gemm_tiled_slice.wgsl" (AT=slice)
    workgroupBarrier();
  }
#endif

  // Accumulators are read with constant indices only: a store loop indexing acc would let
  // the compiler demote the whole array to local memory (measured 15× slower on an H100
  // when the 16-bit store made the loop too big to unroll).
  let ybz = p.y_base + wid.z * p.m * p.n;
  let r0 = m0 + ty * 4u;
  let c0 = n0 + tx * 4u;
#if !SWIGLU
  // store_block's second set is read only under SWIGLU: g's sums stand in for it.
  let acc2 = acc;
#endif
  store_block(r0, c0, ybz, acc[0], acc[R], acc[2u * R], acc[3u * R], acc2[0], acc2[R], acc2[2u * R], acc2[3u * R]);
#if LARGE_TILE
  store_block(r0, c0 + 64u, ybz, acc[1], acc[3], acc[5], acc[7], acc2[1], acc2[3], acc2[5], acc2[7]);
  store_block(r0 + 64u, c0, ybz, acc[8], acc[10], acc[12], acc[14], acc2[8], acc2[10], acc2[12], acc2[14]);
  store_block(r0 + 64u, c0 + 64u, ybz, acc[9], acc[11], acc[13], acc[15], acc2[9], acc2[11], acc2[13], acc2[15]);
#endif
}
