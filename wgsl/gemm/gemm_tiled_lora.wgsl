// gemm_tiled.wgsl's LORA_K: a rank-r term lora_a·op(lora_b) added as r more K columns of the
// same accumulators (launchers/lora_gemm.ts) — fused_lora_forward's x·Wᵀ + (s·xa)·Bᵀ (lora_a =
// s·xa [M, r] in the operands' dtype, lora_b = B [N, r]) and fused_lora_backward's dy·W + gs·A
// (lora_a = gs [M, r], lora_b = A [r, K]); lora_b takes b's layout, [N, r] with TRANS_B, else
// [r, N]. Read element by element (any r, any base), zeros past r, M and N.
#include "common/tensor.wgsl" (NAME=lora_a, DT=A_DT, BINDING=9, WRITE=0)
#include "common/tensor.wgsl" (NAME=lora_b, DT=A_DT, BINDING=10, WRITE=0)

#include "gemm/gemm_tiled_run.wgsl" (NAME=lora_a, VECTOR=0)
#include "gemm/gemm_tiled_run.wgsl" (NAME=lora_b, VECTOR=0)

// Columns k0 … k0 + BK − 1 of the term's r into ra, rb (as fetch does for a and b).
fn fetch_lora(lid: u32, k0: u32, m0: u32, n0: u32) {
  let k_end = p.lora_r;
#include "gemm/gemm_tiled_fetch_op.wgsl" (PER=A_PER, REG=ra, RUN=run_lora_a, CONTIG_K=1, TILE=BM, O0=m0, EXT=p.m, BASE=p.lora_a_base, LDK=p.lora_r, NORM=0)
#include "gemm/gemm_tiled_fetch_op.wgsl" (PER=B_PER, REG=rb, RUN=run_lora_b, CONTIG_K=TRANS_B, TILE=BN, O0=n0, EXT=p.n, BASE=p.lora_b_base, LDK=p.lora_r, NORM=0)
}
