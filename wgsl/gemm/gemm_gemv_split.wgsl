// Small-M GEMM, K split over the whole workgroup (a tuning variant: PMETAL_GEMM_TUNE=
// gemvSplit=1, to be timed against gemm_gemv.wgsl; not the default until it wins).
// y = alpha·A·Bᵀ + beta·C + bias with b stored [N, K], M ≤ 16, rows of whole 16-byte words
// (the launcher checks: bases and K multiples of 4 f32 or 8 f16/bf16 elements).
// Why: gemm_gemv.wgsl gives each group of 32 invocations its own column, so the GPU streams
// thousands of rows of b at once, 512 bytes at a time; here all 256 invocations walk one
// 4 KiB run of a row per load, NB = 4 rows of b per workgroup (the suspected limit is DRAM
// page locality; see README, Performance). Each invocation keeps MT×NB partial sums in
// named registers (gemm_gemv_split_row.wgsl); two halves of MT rows then go through a tree
// in workgroup memory. The f32 accumulation order differs from the tiled kernels: the
// bound of src/ops/gemm/spec.ts holds for any order.
// Defines: A_DT, Y_DT, HAS_C, HAS_BIAS.

#define VEC 1
#include "common/convert.wgsl"
#include "gemm/gemm_common.wgsl"
#include "common/vec.wgsl" (DT=A_DT)
@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<u32>>;

const MT: u32 = 8u;
const NB: u32 = 4u;
const WG: u32 = 256u;
// One register slot per row of the block (gemm_gemv_split_row.wgsl).
#define VPT 8

// Half the block's MT·NB sums per invocation at a time (16 KiB).
var<workgroup> red: array<vec4<f32>, (MT / 2u) * WG>;

// Row word aw of a against the NB column words (decoded): NB partial dot products.
fn fold(aw: vec4<u32>, b0l: vec4<f32>, b0h: vec4<f32>, b1l: vec4<f32>, b1h: vec4<f32>, b2l: vec4<f32>, b2h: vec4<f32>, b3l: vec4<f32>, b3h: vec4<f32>) -> vec4<f32> {
  let al = dec_lo(aw);
  let ah = dec_hi(aw);
  return vec4<f32>(dot(al, b0l) + dot(ah, b0h), dot(al, b1l) + dot(ah, b1h), dot(al, b2l) + dot(ah, b2h), dot(al, b3l) + dot(ah, b3h));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c0 = wid.x * NB;
  let r0 = wid.y * MT;
  let nv = p.k / EPV;
  let av0 = (p.a_base + wid.z * p.a_bstride) / EPV + r0 * nv;
  let bv0 = (p.b_base + wid.z * p.b_bstride) / EPV;
  // Rows past M are never read; columns past N read the last column (a harmless reread)
  // and are not stored.
  let rows = min(MT, p.m - r0);
  let w0 = bv0 + min(c0, p.n - 1u) * nv;
  let w1 = bv0 + min(c0 + 1u, p.n - 1u) * nv;
  let w2 = bv0 + min(c0 + 2u, p.n - 1u) * nv;
  let w3 = bv0 + min(c0 + 3u, p.n - 1u) * nv;

#include "common/slots.wgsl" (SLOT=gemm/gemm_gemv_split_row.wgsl, STEP=0)
  for (var kv = lid; kv < nv; kv = kv + WG) {
    let x0 = b[w0 + kv];
    let x1 = b[w1 + kv];
    let x2 = b[w2 + kv];
    let x3 = b[w3 + kv];
    let b0l = dec_lo(x0);
    let b0h = dec_hi(x0);
    let b1l = dec_lo(x1);
    let b1h = dec_hi(x1);
    let b2l = dec_lo(x2);
    let b2h = dec_hi(x2);
    let b3l = dec_lo(x3);
    let b3h = dec_hi(x3);
#include "common/slots.wgsl" (SLOT=gemm/gemm_gemv_split_row.wgsl, STEP=1)
  }

  // Rows 0–3 of the block, then rows 4–7: a tree over the 256 invocations each.
  let e0 = p.y_base + wid.z * p.m * p.n;
  for (var half = 0u; half < 2u; half = half + 1u) {
    workgroupBarrier();
#include "common/slots.wgsl" (SLOT=gemm/gemm_gemv_split_row.wgsl, STEP=2)
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
      workgroupBarrier();
      if (lid < s) {
        for (var q = 0u; q < MT / 2u; q = q + 1u) {
          red[q * WG + lid] = red[q * WG + lid] + red[q * WG + lid + s];
        }
      }
    }
    workgroupBarrier();
    // Invocation q < 16 writes row half·4 + q / 4, column c0 + q % 4.
    let r = half * (MT / 2u) + lid / NB;
    let col = c0 + lid % NB;
    if (lid < (MT / 2u) * NB && r < rows && col < p.n) {
      let e = e0 + (r0 + r) * p.n + col;
      store_y(e, epilogue(red[(lid / NB) * WG][lid % NB], e, col));
    }
  }
}
