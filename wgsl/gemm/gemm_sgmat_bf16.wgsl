// bf16 gemm on f16 matrix units (the 'subgroup-matrix' tier; WGSL has no bf16 matrix type).
// y = alpha·op(A)·op(B) + beta·C + bias, a and b bf16, y in Y_DT. The method and the proof
// that it keeps bf16's bound (γ_D·S with D = 2·KF + ⌈K/KF⌉ − 1 ≤ K): src/ops/gemm/bf16_mma.ts.
//
// K runs in windows of p.kf (a multiple of BK). Per window the workgroup reads its tile's
// entries from the prepass (gemm_bf16_exps.wgsl: ea for the 128 rows of op(A), eb for the
// 128 columns of op(B)):
//   - every window of the tile exact: each staged value is scaled by 2^(142−E) of its row /
//     column while being stashed (gemm_bf16_stash_op.wgsl), which makes bf16 → f16 exact,
//     and the window's sums run in the matrix units from zero (gemm_sgmat_slice.wgsl, the
//     f16 kernel's steps); at the end of the window each 16×16 result goes through the
//     staging area and every lane adds its 8 values, scaled back by 2^(E_A+E_B−284), into
//     its f32 register sums (gemm_bf16_flush.wgsl), rounding to nearest;
//   - some window inexact (a NaN/±inf, a subnormal, a range over 30 binades, …): the
//     workgroup computes the window with SIMT fma from the bf16 values (gemm_bf16_simt.wgsl)
//     into the same register sums. Workgroup-uniform (workgroupUniformLoad), so barriers
//     stay in uniform control flow.
// Lane l of subgroup sg owns, of each of its 4×2 16×16 results, row l/2 and columns
// (l%2)·8 … +8: 64 f32 sums, indexed by literals only (registers, not local memory).
// Tile: 128×128, 8 subgroups of 32 in a 2×4 grid (64×32 each), 32-deep slices, one buffer,
// operands aligned to 8 halves (the launcher checks, as for gemm_sgmat_vec.wgsl).
// Defines: Y_DT, TRANS_A, TRANS_B, HAS_C, HAS_BIAS (A_DT is bf16).
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#define VEC 1
#define BF16_MMA 1
#define WIDE_N 0
#define SHALLOW_K 0
#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> ea: array<u32>;
@group(0) @binding(7) var<storage, read> eb: array<u32>;

const BM: u32 = 128u;
const BN: u32 = 128u;
const BK: u32 = 32u;
const PAD: u32 = 8u;
const WGT: u32 = 256u;
const WN: u32 = BN / 4u;

#include "gemm/gemm_sgmat_slices.wgsl"

var<workgroup> As: array<f16, A_SZ>;
var<workgroup> Bs: array<f16, B_SZ>;
var<private> ra: array<vec4<u32>, A_PER>;
var<private> rb: array<vec4<u32>, B_PER>;
var<workgroup> stage: array<f32, 8u * 256u>;
// The window's entries of the tile's rows of op(A) and columns of op(B).
var<workgroup> wea: array<u32, BM>;
var<workgroup> web: array<u32, BN>;
// [0]: the last window (t + 1) found inexact somewhere in the tile (grows only: no reset).
// Four words: every workgroup variable a multiple of 16 bytes keeps the matrix loads' bases
// 16-byte aligned wherever the compiler places them.
var<workgroup> wbad: array<atomic<u32>, 4>;
// This lane's f32 sums: [(I·2 + J)·2 + h] holds columns h·4 … +4 of its 8 in result IJ.
var<private> acc: array<vec4<f32>, 16>;
// Scale multipliers of this invocation's staged vectors (gemm_bf16_mult.wgsl).
var<private> ma: array<f32, 8>;
var<private> mb: array<f32, 8>;

#include "gemm/gemm_sgmat_flush.wgsl" (FRU=16u, STG=256u, RUNS=4u, ITEMS=64u)

// 2^(142−E) for a window entry (E = 0, an all-zero window: any finite factor does).
fn mult(entry: u32) -> f32 {
  return bitcast<f32>(u32(clamp(269i - i32(entry & 0xffu), 1i, 254i)) << 23u);
}

// x·2^e for |e| ≤ 284: steps of 2^±100 towards the result (an intermediate under- or
// overflows only when the result does), then one exact power of two.
fn pow2_scale(x: f32, e: i32) -> f32 {
  var y = x;
  var r = e;
  if (r < -100i) { y = y * 0x1p-100f; r = r + 100i; }
  if (r < -100i) { y = y * 0x1p-100f; r = r + 100i; }
  if (r > 100i) { y = y * 0x1p100f; r = r - 100i; }
  if (r > 100i) { y = y * 0x1p100f; r = r - 100i; }
  return y * bitcast<f32>(u32(r + 127i) << 23u);
}

// Element (row, k) of op(A) and (k, col) of op(B) of batch z as f32 (0 past the edges):
// the SIMT window's loads.
fn a_at(z: u32, row: u32, k: u32) -> f32 {
  if (row >= p.m || k >= p.k) {
    return 0.0;
  }
#if TRANS_A
  let e = p.a_base + z * p.a_bstride + k * p.m + row;
#else
  let e = p.a_base + z * p.a_bstride + row * p.k + k;
#endif
  let w = a[e >> 3u][(e >> 1u) & 3u];
  return bf16_to_f32((w >> ((e & 1u) * 16u)) & 0xffffu);
}
fn b_at(z: u32, k: u32, col: u32) -> f32 {
  if (col >= p.n || k >= p.k) {
    return 0.0;
  }
#if TRANS_B
  let e = p.b_base + z * p.b_bstride + col * p.k + k;
#else
  let e = p.b_base + z * p.b_bstride + k * p.n + col;
#endif
  let w = b[e >> 3u][(e >> 1u) & 3u];
  return bf16_to_f32((w >> ((e & 1u) * 16u)) & 0xffffu);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) sg_size: u32) {
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  // All of K (the fetch's extent; this kernel is never split: gemm_splitk.ts).
  K_RANGE
  let av = (p.a_base + wid.z * p.a_bstride) / 8u;
  let bv = (p.b_base + wid.z * p.b_bstride) / 8u;
  let sg = sg_id % 8u;
  let wr = (sg / 4u) * 64u;
  let wc = (sg % 4u) * WN;
  // This lane's row (of each 16-row strip) and first column (of each 16-column result).
  let lr = (lane % 32u) / 2u;
  let lc = (lane % 2u) * 8u;

  var c00 = subgroup_matrix_result<f32, 16, 16>();
  var c01 = subgroup_matrix_result<f32, 16, 16>();
  var c10 = subgroup_matrix_result<f32, 16, 16>();
  var c11 = subgroup_matrix_result<f32, 16, 16>();
  var c20 = subgroup_matrix_result<f32, 16, 16>();
  var c21 = subgroup_matrix_result<f32, 16, 16>();
  var c30 = subgroup_matrix_result<f32, 16, 16>();
  var c31 = subgroup_matrix_result<f32, 16, 16>();

#include "gemm/gemm_sgmat_fetch.wgsl" (KN=0u)
  let nwin = (p.k + p.kf - 1u) / p.kf;
  for (var t = 0u; t < nwin; t = t + 1u) {
    let kw0 = t * p.kf;
    let kw1 = min(p.k, kw0 + p.kf);
    // The tile's entries of window t (rows/columns past the edge: 0, an exact zero window).
    var entry = 0u;
    if (lid < BM) {
      if (m0 + lid < p.m) {
        entry = ea[wid.z * p.ea_bstride + t * p.m + m0 + lid];
      }
      wea[lid] = entry;
    } else {
      let j = lid - BM;
      if (n0 + j < p.n) {
        entry = eb[wid.z * p.eb_bstride + t * p.n + n0 + j];
      }
      web[j] = entry;
    }
    if ((entry & 0x100u) != 0u) {
      atomicMax(&wbad[0], t + 1u);
    }
    let bad = workgroupUniformLoad(&wbad[0]) == t + 1u;
    if (!bad) {
#include "gemm/gemm_bf16_mult.wgsl"
      c00 = subgroup_matrix_result<f32, 16, 16>();
      c01 = subgroup_matrix_result<f32, 16, 16>();
      c10 = subgroup_matrix_result<f32, 16, 16>();
      c11 = subgroup_matrix_result<f32, 16, 16>();
      c20 = subgroup_matrix_result<f32, 16, 16>();
      c21 = subgroup_matrix_result<f32, 16, 16>();
      c30 = subgroup_matrix_result<f32, 16, 16>();
      c31 = subgroup_matrix_result<f32, 16, 16>();
      for (var k0 = kw0; k0 < kw1; k0 = k0 + BK) {
        {
#include "gemm/gemm_bf16_stash_op.wgsl" (REG=ra, ARR=As, PER=A_PER, V=A_V, LD=LDA, M=ma, ROWS_K=TRANS_A)
#include "gemm/gemm_bf16_stash_op.wgsl" (REG=rb, ARR=Bs, PER=B_PER, V=B_V, LD=LDB, M=mb, ROWS_K=!TRANS_B)
        }
        workgroupBarrier();
        let k1 = k0 + BK;
        if (k1 < p.k) {
#include "gemm/gemm_sgmat_fetch.wgsl" (KN=k1)
        }
#include "gemm/gemm_sgmat_slice.wgsl" (BUF=0)
        workgroupBarrier();
      }
#include "gemm/gemm_bf16_flush.wgsl" (I=0, J=0)
#include "gemm/gemm_bf16_flush.wgsl" (I=0, J=1)
#include "gemm/gemm_bf16_flush.wgsl" (I=1, J=0)
#include "gemm/gemm_bf16_flush.wgsl" (I=1, J=1)
#include "gemm/gemm_bf16_flush.wgsl" (I=2, J=0)
#include "gemm/gemm_bf16_flush.wgsl" (I=2, J=1)
#include "gemm/gemm_bf16_flush.wgsl" (I=3, J=0)
#include "gemm/gemm_bf16_flush.wgsl" (I=3, J=1)
    } else {
#include "gemm/gemm_bf16_simt.wgsl" (I=0, J=0)
#include "gemm/gemm_bf16_simt.wgsl" (I=0, J=1)
#include "gemm/gemm_bf16_simt.wgsl" (I=1, J=0)
#include "gemm/gemm_bf16_simt.wgsl" (I=1, J=1)
#include "gemm/gemm_bf16_simt.wgsl" (I=2, J=0)
#include "gemm/gemm_bf16_simt.wgsl" (I=2, J=1)
#include "gemm/gemm_bf16_simt.wgsl" (I=3, J=0)
#include "gemm/gemm_bf16_simt.wgsl" (I=3, J=1)
      // The registers hold this window's first slice, unused: fetch the next window's.
      if (kw1 < p.k) {
#include "gemm/gemm_sgmat_fetch.wgsl" (KN=kw1)
      }
      // wea/web are rewritten by the next window's head.
      workgroupBarrier();
    }
  }

  let ybz = p.y_base + wid.z * p.m * p.n;
#include "gemm/gemm_bf16_out.wgsl" (I=0, J=0)
#include "gemm/gemm_bf16_out.wgsl" (I=0, J=1)
#include "gemm/gemm_bf16_out.wgsl" (I=1, J=0)
#include "gemm/gemm_bf16_out.wgsl" (I=1, J=1)
#include "gemm/gemm_bf16_out.wgsl" (I=2, J=0)
#include "gemm/gemm_bf16_out.wgsl" (I=2, J=1)
#include "gemm/gemm_bf16_out.wgsl" (I=3, J=0)
#include "gemm/gemm_bf16_out.wgsl" (I=3, J=1)
}
