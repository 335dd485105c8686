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
// held as named variables (no dynamically indexed arrays of matrices). Per 32-deep K slice
// each invocation moves 2 + BN/64 vectors global → registers → workgroup memory; the next
// slice's vectors are fetched into registers before the current slice is multiplied, so
// global latency overlaps the matrix work (one workgroup buffer, two barriers per slice).
// Rows of the staged slices are padded by 8 halves (16 bytes) against bank conflicts.
// The epilogue is gemm_sgmat.wgsl's: one 16×16 result at a time through f32 staging.
// DBUF: two workgroup buffers, so each K slice needs one barrier (the next slice is stashed
// into the other buffer after the current one is multiplied). DIRECT: no staging at all;
// every subgroup loads its fragments straight from the storage buffers (reuse through the
// caches, no barriers in the K loop); the launcher takes it only for whole tiles (M % 128,
// N % BN, K % 16 all zero).
// FIXED_OFF (single buffer only): constant fragment offsets (gemm_sgmat_fixed.wgsl).
// Defines: Y_DT, TRANS_A, TRANS_B, HAS_C, HAS_BIAS, WIDE_N, DEEP_K, DBUF, DIRECT, FIXED_OFF (A_DT is f16).
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#define VEC 1
#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
#if DIRECT
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read> b: array<f16>;
#else
@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<u32>>;
#endif

const BM: u32 = 128u;
#if WIDE_N
const BN: u32 = 256u;
#else
const BN: u32 = 128u;
#endif
#if DEEP_K
// 64-deep slices: half the barriers per multiply-accumulate (43 KiB of workgroup memory).
const BK: u32 = 64u;
#else
const BK: u32 = 32u;
#endif
const PAD: u32 = 8u;
const WGT: u32 = 256u;
// Columns of a subgroup's block.
const WN: u32 = BN / 4u;

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
#if DIRECT
// Strides of the operands as stored (the fragments are read in place).
#if TRANS_A
#define LDA p.m
#else
#define LDA p.k
#endif
#if TRANS_B
#define LDB p.k
#else
#define LDB p.n
#endif
#else
#if TRANS_A
const A_ROWS: u32 = BK;
const A_COLS: u32 = BM;
#else
const A_ROWS: u32 = BM;
const A_COLS: u32 = BK;
#endif
#if TRANS_B
const B_ROWS: u32 = BN;
const B_COLS: u32 = BK;
#else
const B_ROWS: u32 = BK;
const B_COLS: u32 = BN;
#endif
const LDA: u32 = A_COLS + PAD;
const LDB: u32 = B_COLS + PAD;
// Vectors per staged row and per invocation.
const A_V: u32 = A_COLS / 8u;
const B_V: u32 = B_COLS / 8u;
const A_PER: u32 = A_ROWS * A_V / WGT;
const B_PER: u32 = B_ROWS * B_V / WGT;
// Halves of one staged slice of each operand.
const A_SZ: u32 = A_ROWS * LDA;
const B_SZ: u32 = B_ROWS * LDB;
#if DBUF
const NBUF: u32 = 2u;
#else
const NBUF: u32 = 1u;
#endif

var<workgroup> As: array<f16, NBUF * A_SZ>;
var<workgroup> Bs: array<f16, NBUF * B_SZ>;
var<private> ra: array<vec4<u32>, A_PER>;
var<private> rb: array<vec4<u32>, B_PER>;
#endif
var<workgroup> stage: array<f32, 8u * 256u>;

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

#if !DIRECT
// Global → registers: the vectors of the K slice at k0 (zeros past the operand's edges).
// av/bv: the batch's first vector of a and b.
fn fetch(lid: u32, k0: u32, m0: u32, n0: u32, av: u32, bv: u32) {
  for (var i = 0u; i < A_PER; i = i + 1u) {
    let t = lid + i * WGT;
    let r = t / A_V;
    let c = (t % A_V) * 8u;
#if TRANS_A
    let gr = k0 + r;
    let gc = m0 + c;
    let ok = gr < p.k && gc < p.m;
    let ldv = p.m / 8u;
#else
    let gr = m0 + r;
    let gc = k0 + c;
    let ok = gr < p.m && gc < p.k;
    let ldv = p.k / 8u;
#endif
    var v = vec4<u32>();
    if (ok) {
      v = a[av + gr * ldv + gc / 8u];
    }
    ra[i] = v;
  }
  for (var i = 0u; i < B_PER; i = i + 1u) {
    let t = lid + i * WGT;
    let r = t / B_V;
    let c = (t % B_V) * 8u;
#if TRANS_B
    let gr = n0 + r;
    let gc = k0 + c;
    let ok = gr < p.n && gc < p.k;
    let ldv = p.k / 8u;
#else
    let gr = k0 + r;
    let gc = n0 + c;
    let ok = gr < p.k && gc < p.n;
    let ldv = p.n / 8u;
#endif
    var v = vec4<u32>();
    if (ok) {
      v = b[bv + gr * ldv + gc / 8u];
    }
    rb[i] = v;
  }
}

// Registers → workgroup memory.
fn stash(lid: u32, ab: u32, bb: u32) {
  for (var i = 0u; i < A_PER; i = i + 1u) {
    let t = lid + i * WGT;
    let o = ab + (t / A_V) * LDA + (t % A_V) * 8u;
    let v = ra[i];
    let h0 = bitcast<vec2<f16>>(v.x);
    let h1 = bitcast<vec2<f16>>(v.y);
    let h2 = bitcast<vec2<f16>>(v.z);
    let h3 = bitcast<vec2<f16>>(v.w);
    As[o] = h0.x;
    As[o + 1u] = h0.y;
    As[o + 2u] = h1.x;
    As[o + 3u] = h1.y;
    As[o + 4u] = h2.x;
    As[o + 5u] = h2.y;
    As[o + 6u] = h3.x;
    As[o + 7u] = h3.y;
  }
  for (var i = 0u; i < B_PER; i = i + 1u) {
    let t = lid + i * WGT;
    let o = bb + (t / B_V) * LDB + (t % B_V) * 8u;
    let v = rb[i];
    let h0 = bitcast<vec2<f16>>(v.x);
    let h1 = bitcast<vec2<f16>>(v.y);
    let h2 = bitcast<vec2<f16>>(v.z);
    let h3 = bitcast<vec2<f16>>(v.w);
    Bs[o] = h0.x;
    Bs[o + 1u] = h0.y;
    Bs[o + 2u] = h1.x;
    Bs[o + 3u] = h1.y;
    Bs[o + 4u] = h2.x;
    Bs[o + 5u] = h2.y;
    Bs[o + 6u] = h3.x;
    Bs[o + 7u] = h3.y;
  }
}
#endif

// Writes the 16×16 result staged at stage[sg·256..] to y rows r0.., columns c0.. (masked).
fn flush(sg: u32, lane: u32, sg_size: u32, r0: u32, c0: u32, ybz: u32) {
  workgroupBarrier();
  for (var s = lane; s < 64u; s = s + sg_size) {
    let row = r0 + s / 4u;
    let col = c0 + (s % 4u) * 4u;
    if (row < p.m && col < p.n) {
      let e = ybz + row * p.n + col;
      let src = sg * 256u + (s / 4u) * 16u + (s % 4u) * 4u;
      var v: vec4<f32>;
      for (var q = 0u; q < 4u; q = q + 1u) {
        v[q] = epilogue(stage[src + q], e + q, min(col + q, p.n - 1u));
      }
      store_run4(e, v, min(4u, p.n - col));
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) sg_size: u32) {
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  let av = (p.a_base + wid.z * p.a_bstride) / 8u;
  let bv = (p.b_base + wid.z * p.b_bstride) / 8u;
  // Subgroups beyond 8 (smaller hardware subgroups) redo the work of subgroup sg % 8.
  let sg = sg_id % 8u;
  let wr = (sg / 4u) * 64u;
  let wc = (sg % 4u) * WN;

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

#if DIRECT
  // Element offsets of the tile's origin in a and b (a_off/b_off add the rest, in place).
  let ab0 = p.a_base + wid.z * p.a_bstride;
  let bb0 = p.b_base + wid.z * p.b_bstride;
#if TRANS_A
  let abuf = ab0 + m0;
#else
  let abuf = ab0 + m0 * p.k;
#endif
#if TRANS_B
  let bbuf = bb0 + n0 * p.k;
#else
  let bbuf = bb0 + n0;
#endif
  for (var ks = 0u; ks < p.k; ks = ks + 16u) {
#include "gemm/gemm_sgmat_step.wgsl" (A_SRC=a, B_SRC=b)
  }
#else
  fetch(lid, 0u, m0, n0, av, bv);
#if DBUF
  stash(lid, 0u, 0u);
  workgroupBarrier();
  var buf = 0u;
  for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
    let more = k0 + BK < p.k;
    if (more) {
      fetch(lid, k0 + BK, m0, n0, av, bv);
    }
    let abuf = buf * A_SZ;
    let bbuf = buf * B_SZ;
    for (var ks = 0u; ks < BK; ks = ks + 16u) {
#include "gemm/gemm_sgmat_step.wgsl" (A_SRC=As, B_SRC=Bs)
    }
    if (more) {
      stash(lid, (buf ^ 1u) * A_SZ, (buf ^ 1u) * B_SZ);
    }
    workgroupBarrier();
    buf = buf ^ 1u;
  }
#else
  let abuf = 0u;
  let bbuf = 0u;
  for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
    stash(lid, 0u, 0u);
    workgroupBarrier();
    if (k0 + BK < p.k) {
      fetch(lid, k0 + BK, m0, n0, av, bv);
    }
#if FIXED_OFF
    // One copy of the slice's steps per subgroup, so every fragment offset is a constant
    // (gemm_sgmat_fixed.wgsl says why). sg is uniform within a subgroup: no divergence.
    switch (sg) {
      case 0u: {
#include "gemm/gemm_sgmat_fixed.wgsl" (S=0)
      }
      case 1u: {
#include "gemm/gemm_sgmat_fixed.wgsl" (S=1)
      }
      case 2u: {
#include "gemm/gemm_sgmat_fixed.wgsl" (S=2)
      }
      case 3u: {
#include "gemm/gemm_sgmat_fixed.wgsl" (S=3)
      }
      case 4u: {
#include "gemm/gemm_sgmat_fixed.wgsl" (S=4)
      }
      case 5u: {
#include "gemm/gemm_sgmat_fixed.wgsl" (S=5)
      }
      case 6u: {
#include "gemm/gemm_sgmat_fixed.wgsl" (S=6)
      }
      default: {
#include "gemm/gemm_sgmat_fixed.wgsl" (S=7)
      }
    }
#else
    for (var ks = 0u; ks < BK; ks = ks + 16u) {
#include "gemm/gemm_sgmat_step.wgsl" (A_SRC=As, B_SRC=Bs)
    }
#endif
    workgroupBarrier();
  }
#endif
#endif

  let ybz = p.y_base + wid.z * p.m * p.n;
#include "gemm/gemm_sgmat_out.wgsl" (I=0)
#include "gemm/gemm_sgmat_out.wgsl" (I=1)
#include "gemm/gemm_sgmat_out.wgsl" (I=2)
#include "gemm/gemm_sgmat_out.wgsl" (I=3)
}
