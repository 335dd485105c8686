// The subgroup-matrix gemms' main body (after the entry point's head): per K slice, stage
// op(A) and op(B) through PAIRS, then FM×FN multiply-accumulates of FR×FR fragments of FT
// into f32 results; then each result through `stage` (STG floats a subgroup) and flush().
// Args: FT (fragment component type), FR / FRU (fragment edge, as a literal and as u32),
// STG (FRU·FRU), PAIRS (the slice stager).
#include "gemm/gemm_sgmat_head.wgsl"

  var acc: array<subgroup_matrix_result<f32, FR, FR>, FM * FN>;
  for (var t = 0u; t < FM * FN; t = t + 1u) {
    acc[t] = subgroup_matrix_result<f32, FR, FR>();
  }

  for (var k0 = 0u; k0 < p.k; k0 = k0 + BK) {
#include "gemm/gemm_sgmat_load.wgsl" (PAIRS=PAIRS)
    workgroupBarrier();
    for (var ks = 0u; ks < BK; ks = ks + FRU) {
      var l: array<subgroup_matrix_left<FT, FR, FR>, FM>;
      for (var i = 0u; i < FM; i = i + 1u) {
        l[i] = subgroupMatrixLoad<subgroup_matrix_left<FT, FR, FR>, A_LAYOUT>(&As, a_off((sm * FM + i) * FRU, ks), LDA);
      }
      for (var j = 0u; j < FN; j = j + 1u) {
        let r = subgroupMatrixLoad<subgroup_matrix_right<FT, FR, FR>, B_LAYOUT>(&Bs, b_off(ks, (sn * FN + j) * FRU), LDB);
        for (var i = 0u; i < FM; i = i + 1u) {
          acc[i * FN + j] = subgroupMatrixMultiplyAccumulate(l[i], r, acc[i * FN + j]);
        }
      }
    }
    workgroupBarrier();
  }

  let ybz = p.y_base + wid.z * p.m * p.n;
  for (var t = 0u; t < FM * FN; t = t + 1u) {
    subgroupMatrixStore<row_major>(&stage, sg * STG, acc[t], FRU);
    flush(sg, lane, sg_size, m0 + (sm * FM + t / FN) * FRU, n0 + (sn * FN + t % FN) * FRU, ybz);
  }
