// Small-M GEMM on the matrix units (decode: y = alpha·A·Bᵀ + beta·C + bias, b stored [N, K],
// f16 a and b, M ≤ 16): the subgroup-matrix tier's GEMV. gemm_gemv_rows spends 8–16 FMAs and
// an f16→f32 decode of every weight element on SIMT lanes at M = 8–16 (ALU-bound on an
// H100: 45–61 % of copy bandwidth); here the products run on the f16→f32 MMA units and the
// lanes only move data.
//
// The product is computed transposed, yᵀ = W·xᵀ: the left operand is a 16×16 tile of W (16
// rows of b × 16 of K, row-major with stride K, loaded straight from storage: no staging, no
// decode), the right operand is xᵀ, K × NX (NX = 8 with the f16→f32 16×8×16 configuration
// for M ≤ 8, else 16: x's rows are the result's columns, so at M = 8 nothing is padded), and
// the result is a 16 × NX tile of yᵀ in f32.
//
// A workgroup of 8 subgroups of 32 owns NT·16 consecutive rows of b (NT = 2: 32; NT = 1: 16)
// and all of K: it walks K in chunks of KC = 256, subgroup s taking slices s·32 and s·32 + 16
// of each chunk (8 subgroups × 2 slices), so every subgroup keeps NT accumulators and the
// 8 partial results are added once at the end through workgroup memory (no second pass, y
// rounded once: the bound of src/ops/gemm/spec.ts holds for any order of the f32 sums).
// Each chunk of x (NX rows × 256, rows ≥ M and columns ≥ the last whole 16-slice zero) is
// staged once in workgroup memory by the whole workgroup, 16-byte words, and read as
// column-major right fragments. W tiles are loaded two chunks ahead of their use (4·NT tiles
// = 2·NT KiB in flight per subgroup) so DRAM latency overlaps the barriers of the x staging.
//
// Bytes: W once (N·K·2), x once per workgroup from L2 (N/(16·NT) · M·K·2: M/32 of W's at
// NT = 2). Grid: ceil(N/(16·NT)) workgroups (448 at N = 14336, 128 at N = 4096 with NT = 2).
//
// Edges, with no load ever outside its operand (Dawn predicates a subgroupMatrixLoad whose
// extent leaves the binding: it would zero a whole tile):
// - N: tile t's rows start at min(c_t, N − 16) (c_t = n0 + 16t): the last tile is moved back
//   to end at row N − 1 and stores only the rows ≥ c_t (the launcher needs N ≥ 16);
// - K: slices past K16 = K − K % 16 (the last chunk's) read the tile at K16 − 16 against x
//   staged as zeros (they add exact zeros unless that W tile holds ±Inf/NaN); a tail of
//   K % 16 = 8 columns is one more step after the loop: the tile at K − 16 against x
//   staged with its first 8 columns zero, taken by subgroup 0 (the others read a zero
//   fragment).
// Needs: subgroups of 32 (8 per workgroup); b's base and K multiples of 8 halves (16-byte
// aligned tile rows, as cooperative-matrix loads require), a's base too; K ≥ 16, N ≥ 16.
// Defines: Y_DT, HAS_C, HAS_BIAS, MT (= M, 1…16), NX (8 or 16), NT (1 or 2); A_DT is f16;
// SWIGLU_ROWS, WRITE_GU.
//
// SWIGLU_ROWS (fused_mlp's gate/up pair at decode sizes, launchers/mlp_gemv.ts; NT = 2): tile
// 0 is 16 rows of W_g (b), tile 1 the same 16 rows of W_u (b2, bound at 6), so a workgroup
// owns 16 columns of h = silu(g)·u (I/16 workgroups) and g, u leave the reduce in f32
// registers (swiglu.wgsl's arithmetic, h rounded once, as gemm_gemv_rows' SWIGLU_ROWS);
// WRITE_GU also stores g and u (bound at 7 and 8). alpha = 1, no c, no bias.
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

#ifndef MT
#define MT 1
#endif
#ifndef NX
#define NX 16
#endif
#ifndef NT
#define NT 2
#endif
// Tiles of b per subgroup (SWIGLU_ROWS: W_g's and W_u's).
#if SWIGLU_ROWS || NT == 2
#define TILES 2
#else
#define TILES 1
#endif
#define VEC 1
#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
// b as halves: the matrix loads take an array of the component type.
@group(0) @binding(1) var<storage, read> b: array<f16>;
#if SWIGLU_ROWS
#include "common/sigmoid.wgsl"
@group(0) @binding(6) var<storage, read> b2: array<f16>;
#if WRITE_GU
#include "common/tensor.wgsl" (NAME=gout, DT=Y_DT, BINDING=7, WRITE=1)
#include "common/tensor.wgsl" (NAME=uout, DT=Y_DT, BINDING=8, WRITE=1)
#endif
// Tile 1 is W_u's rows: the columns of y a workgroup owns are those of one tile.
#define B1 b2
#define COLS 16u
#else
#define B1 b
#define COLS (16u * NT)
#endif

const KC: u32 = 256u;
// No padding: NX = 16 uses exactly WebGPU's default 16 KiB (x chunk 8 KiB + stage 8 KiB).
const LD: u32 = KC;
// x chunk, NX rows × KC halves.
var<workgroup> xs: array<f16, NX * LD>;
// The 8 subgroups' partial 16 × NX results of one tile (row-major, stride NX).
var<workgroup> stage: array<f32, 8u * 16u * NX>;

alias WT = subgroup_matrix_left<f16, 16, 16>;
alias XT = subgroup_matrix_right<f16, NX, 16>;
alias RT = subgroup_matrix_result<f32, NX, 16>;

// Words of one chunk of x into registers: word i of this invocation is row w / 32, 8 halves
// at column kc + 8·(w % 32), w = lid + 256·i (zero past M rows or past K16).
fn x_word(av0: u32, kc: u32, k16: u32, w: u32) -> vec4<u32> {
  let m = w / 32u;
  let kk = kc + 8u * (w % 32u);
  if (m < MT && kk < k16) {
    return a[av0 + (m * p.k + kk) / 8u];
  }
  return vec4<u32>(0u);
}
// One word to xs at the position x_word took it from.
fn x_stash(w: u32, v: vec4<u32>) {
  let o = (w / 32u) * LD + 8u * (w % 32u);
  let h0 = bitcast<vec2<f16>>(v.x);
  let h1 = bitcast<vec2<f16>>(v.y);
  let h2 = bitcast<vec2<f16>>(v.z);
  let h3 = bitcast<vec2<f16>>(v.w);
  xs[o] = h0.x;
  xs[o + 1u] = h0.y;
  xs[o + 2u] = h1.x;
  xs[o + 3u] = h1.y;
  xs[o + 4u] = h2.x;
  xs[o + 5u] = h2.y;
  xs[o + 6u] = h3.x;
  xs[o + 7u] = h3.y;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32) {
  let sg = sg_id % 8u;
  let n0 = wid.x * COLS;
  let k16 = p.k - p.k % 16u;
  let nch = (k16 + KC - 1u) / KC;
  let av0 = (p.a_base + wid.z * p.a_bstride) / 8u;
  let bb = p.b_base + wid.z * p.b_bstride;
  // Tile rows (moved back at N's edge) and the first element of each tile's rows.
  let r0 = min(n0, p.n - 16u);
  let wb0 = bb + r0 * p.k;
#if SWIGLU_ROWS
  let wb1 = p.b2_base + r0 * p.k;
#elif TILES == 2
  let r1 = min(n0 + 16u, p.n - 16u);
  let wb1 = bb + r1 * p.k;
#endif
  // This subgroup's K offset inside a chunk, and the last whole slice (dead slices read it).
  let ks = sg * 32u;
  let klast = k16 - 16u;

  var acc0 = RT();
#if TILES == 2
  var acc1 = RT();
#endif
  // W tiles of the chunk in use (c*) and of the next one (n*); slice j of tile t is ctj.
  var c00 = WT();
  var c01 = WT();
  var n00 = WT();
  var n01 = WT();
#if TILES == 2
  var c10 = WT();
  var c11 = WT();
  var n10 = WT();
  var n11 = WT();
#endif
  var xv0 = vec4<u32>(0u);
#if NX == 16
  var xv1 = vec4<u32>(0u);
#endif
  if (nch > 0u) {
    let k0 = min(ks, klast);
    let k1 = min(ks + 16u, klast);
    c00 = subgroupMatrixLoad<WT, row_major>(&b, wb0 + k0, p.k);
    c01 = subgroupMatrixLoad<WT, row_major>(&b, wb0 + k1, p.k);
#if TILES == 2
    c10 = subgroupMatrixLoad<WT, row_major>(&B1, wb1 + k0, p.k);
    c11 = subgroupMatrixLoad<WT, row_major>(&B1, wb1 + k1, p.k);
#endif
    xv0 = x_word(av0, 0u, k16, lid);
#if NX == 16
    xv1 = x_word(av0, 0u, k16, lid + 256u);
#endif
  }
  if (nch > 1u) {
    let k0 = min(KC + ks, klast);
    let k1 = min(KC + ks + 16u, klast);
    n00 = subgroupMatrixLoad<WT, row_major>(&b, wb0 + k0, p.k);
    n01 = subgroupMatrixLoad<WT, row_major>(&b, wb0 + k1, p.k);
#if TILES == 2
    n10 = subgroupMatrixLoad<WT, row_major>(&B1, wb1 + k0, p.k);
    n11 = subgroupMatrixLoad<WT, row_major>(&B1, wb1 + k1, p.k);
#endif
  }

  for (var c = 0u; c < nch; c = c + 1u) {
    workgroupBarrier();
    x_stash(lid, xv0);
#if NX == 16
    x_stash(lid + 256u, xv1);
#endif
    workgroupBarrier();
    // The next chunk's x and the W tiles two chunks ahead are issued before this chunk's
    // products wait on their operands.
    if (c + 1u < nch) {
      xv0 = x_word(av0, (c + 1u) * KC, k16, lid);
#if NX == 16
      xv1 = x_word(av0, (c + 1u) * KC, k16, lid + 256u);
#endif
    }
    var f00 = WT();
    var f01 = WT();
#if TILES == 2
    var f10 = WT();
    var f11 = WT();
#endif
    if (c + 2u < nch) {
      let k0 = min((c + 2u) * KC + ks, klast);
      let k1 = min((c + 2u) * KC + ks + 16u, klast);
      f00 = subgroupMatrixLoad<WT, row_major>(&b, wb0 + k0, p.k);
      f01 = subgroupMatrixLoad<WT, row_major>(&b, wb0 + k1, p.k);
#if TILES == 2
      f10 = subgroupMatrixLoad<WT, row_major>(&B1, wb1 + k0, p.k);
      f11 = subgroupMatrixLoad<WT, row_major>(&B1, wb1 + k1, p.k);
#endif
    }
    // Column-major xᵀ: element (k, m) at m·LD + k. Slices past K16 read staged zeros.
    let x0 = subgroupMatrixLoad<XT, col_major>(&xs, ks, LD);
    let x1 = subgroupMatrixLoad<XT, col_major>(&xs, ks + 16u, LD);
    acc0 = subgroupMatrixMultiplyAccumulate(c00, x0, acc0);
    acc0 = subgroupMatrixMultiplyAccumulate(c01, x1, acc0);
#if TILES == 2
    acc1 = subgroupMatrixMultiplyAccumulate(c10, x0, acc1);
    acc1 = subgroupMatrixMultiplyAccumulate(c11, x1, acc1);
#endif
    c00 = n00;
    c01 = n01;
    n00 = f00;
    n01 = f01;
#if TILES == 2
    c10 = n10;
    c11 = n11;
    n10 = f10;
    n11 = f11;
#endif
  }

  // K % 16 = 8: columns K16 … K − 1 against the tile at K − 16, whose first 8 columns the
  // loop already counted, so x is staged there as zeros: row m of xs holds x[m, K−16 … K−1]
  // with its first 8 zero at 0 … 15 and zeros at 16 … 31. Subgroup 0 reads the first, the
  // others the zeros (an offset, not a branch: the matrix calls stay in uniform control flow).
  if (k16 < p.k) {
    workgroupBarrier();
    if (lid < NX * 32u) {
      let m = lid / 32u;
      let i = lid % 32u;
      var v = 0.0h;
      if (m < MT && i >= 8u && i < 16u) {
        let e = (p.a_base + wid.z * p.a_bstride) + m * p.k + k16 + (i - 8u);
        let wd = a[e / 8u];
        let h = bitcast<vec2<f16>>(wd[(e % 8u) / 2u]);
        v = select(h.x, h.y, (e % 2u) == 1u);
      }
      xs[m * LD + i] = v;
    }
    workgroupBarrier();
    let xo = select(16u, 0u, sg == 0u);
    let xt = subgroupMatrixLoad<XT, col_major>(&xs, xo, LD);
    let t0 = subgroupMatrixLoad<WT, row_major>(&b, wb0 + p.k - 16u, p.k);
    acc0 = subgroupMatrixMultiplyAccumulate(t0, xt, acc0);
#if TILES == 2
    let t1 = subgroupMatrixLoad<WT, row_major>(&B1, wb1 + p.k - 16u, p.k);
    acc1 = subgroupMatrixMultiplyAccumulate(t1, xt, acc1);
#endif
  }

  let e0 = p.y_base + wid.z * p.m * p.n;
#if SWIGLU_ROWS
#include "gemm/gemm_gemv_sgmat_swiglu.wgsl"
#else
#include "gemm/gemm_gemv_sgmat_out.wgsl" (T=0)
#if TILES == 2
#include "gemm/gemm_gemv_sgmat_out.wgsl" (T=1)
#endif
#endif
}
