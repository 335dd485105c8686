// quantized_gemm, prefill path on the 'subgroup-matrix' tier (x f16, M > 16): 128×128 tiles
// of y. Per BK-deep K slice (K is a multiple of 32 in every format, so slices are whole),
// the workgroup stages the 128×BK slice of x (raw f16 words, runs of 8) and decodes the
// 128×BK slice of W (one decode8 per run of 8, quant/decode.wgsl) into workgroup memory as
// f16 — ŵ rounded to nearest even by f32_to_f16 (WGSL's own f32→f16 conversion may round
// either way) — then a 4×2 grid of subgroups multiplies them with
// subgroupMatrixMultiplyAccumulate (f16 → f32, 16×16×16), each owning 2×4 result matrices
// (a 32×64 block). A wide N tile halves the passes over x, which is read once per column
// tile (N/BN times): at prefill sizes more bytes than the quantized W. As gemm_sgmat.wgsl:
// a subgroup's place comes from subgroup_id (uniform offsets), and if the hardware runs
// subgroups smaller than SG_SIZE, subgroups s and s + 8 compute the same block redundantly. Each result goes to y through a per-subgroup f32
// staging area (masked at M and N). Error model: ŵ's rounding to f16 and the matrix
// units' truncating f32 adds (γ_2K): the f16 bound of src/ops/quantized_gemm/spec.ts.
// Rows past M and columns past N are staged as zeros.
// WIDE_SMEM: 32-deep slices with rows padded by 8 halves (28 KiB of workgroup memory, where
// the device's limit allows: the launcher checks); else 16-deep unpadded slices (16 KiB,
// WebGPU's default limit).
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
#include "quant/qgemm_common.wgsl"

const BM: u32 = 128u;
const BN: u32 = 128u;
#if WIDE_SMEM
const BK: u32 = 32u;
// Rows padded by 8 halves (16 bytes) so consecutive rows start on different banks.
const LD: u32 = BK + 8u;
#else
const BK: u32 = 16u;
const LD: u32 = BK;
#endif
// Runs of 8 elements per staged row.
const RUNS: u32 = BK / 8u;
const SG_N: u32 = 2u;
const NSG: u32 = 8u;
// The subgroup size the layout assumes: the adapter's largest (32 on NVIDIA).
override SG_SIZE: u32 = 32u;

var<workgroup> xs: array<f16, BM * LD>;
var<workgroup> ws: array<f16, BN * LD>;
var<workgroup> stage: array<f32, NSG * 256u>;

fn h2(v: vec2<f32>) -> vec2<f16> {
  return bitcast<vec2<f16>>(f32_to_f16(v.x) | (f32_to_f16(v.y) << 16u));
}

@compute @workgroup_size(NSG * SG_SIZE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) lane: u32,
        @builtin(subgroup_size) sg_size: u32) {
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  let sg = sg_id % NSG;
  let sm = sg / SG_N;
  let sn = sg % SG_N;
  var acc: array<subgroup_matrix_result<f32, 16, 16>, 8>;
  for (var t = 0u; t < 8u; t = t + 1u) {
    acc[t] = subgroup_matrix_result<f32, 16, 16>();
  }
  for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
    // x: 128 rows × RUNS runs of 8 halves, strided over the workgroup.
    for (var t = lid; t < BM * RUNS; t = t + NSG * SG_SIZE) {
      let r = t / RUNS;
      let kk = (t % RUNS) * 8u;
      var v = vec4<u32>(0u);
      if (row0 + r < p.m) {
        v = xq[(p.x_base + (row0 + r) * p.k + k0 + kk) / 8u];
      }
      let o = r * LD + kk;
      for (var q = 0u; q < 4u; q = q + 1u) {
        let h = bitcast<vec2<f16>>(v[q]);
        xs[o + 2u * q] = h.x;
        xs[o + 2u * q + 1u] = h.y;
      }
    }
    // W: 128 rows × RUNS runs of 8 weights.
    for (var t = lid; t < BN * RUNS; t = t + NSG * SG_SIZE) {
      let r = t / RUNS;
      let kk = (t % RUNS) * 8u;
      var w = W8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (col0 + r < p.n) {
        w = decode8(col0 + r, k0 + kk);
      }
      let o = r * LD + kk;
      let a = h2(w.lo.xy);
      let b = h2(w.lo.zw);
      let c = h2(w.hi.xy);
      let d = h2(w.hi.zw);
      ws[o] = a.x;
      ws[o + 1u] = a.y;
      ws[o + 2u] = b.x;
      ws[o + 3u] = b.y;
      ws[o + 4u] = c.x;
      ws[o + 5u] = c.y;
      ws[o + 6u] = d.x;
      ws[o + 7u] = d.y;
    }
    workgroupBarrier();
    for (var ks = 0u; ks < BK; ks = ks + 16u) {
      // op(B) = Wᵀ: ws holds W's rows [n][k], loaded column-major.
      let l0 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&xs, (sm * 32u) * LD + ks, LD);
      let l1 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&xs, (sm * 32u + 16u) * LD + ks, LD);
      for (var j = 0u; j < 4u; j = j + 1u) {
        let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&ws, (sn * 64u + j * 16u) * LD + ks, LD);
        acc[j] = subgroupMatrixMultiplyAccumulate(l0, r, acc[j]);
        acc[4u + j] = subgroupMatrixMultiplyAccumulate(l1, r, acc[4u + j]);
      }
    }
    workgroupBarrier();
  }
  // acc[4i + j]: rows 16i.., columns 16j.. of this subgroup's block.
  for (var t = 0u; t < 8u; t = t + 1u) {
    subgroupMatrixStore<row_major>(&stage, sg * 256u, acc[t], 16u);
    workgroupBarrier();
    let r0 = row0 + sm * 32u + (t / 4u) * 16u;
    let c0 = col0 + sn * 64u + (t % 4u) * 16u;
    for (var s = lane; s < 256u; s = s + sg_size) {
      let row = r0 + s / 16u;
      let col = c0 + s % 16u;
      if (row < p.m && col < p.n) {
        store_y(p.y_base + row * p.ldy + col, stage[sg * 256u + s]);
      }
    }
    workgroupBarrier();
  }
}
