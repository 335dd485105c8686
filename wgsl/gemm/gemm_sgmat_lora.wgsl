// gemm_sgmat_vec.wgsl's LORA_K tail: a rank-r term added as r more K columns of the same
// accumulators, y = [a | lora_a]·[op(b) ; op(lora_b)] — fused_lora_forward's x·Wᵀ + (s·xa)·Bᵀ
// (lora_a = s·xa rounded to f16 [M, r], lora_b = B) or fused_lora_backward's dy·W + gs·A
// (launchers/lora_gemm.ts), so the LoRA term costs r/K more matrix work instead of a [M, N]
// temporary written and read again.
// lora_a is stored [M, r]; lora_b like b: [N, r] with TRANS_B, else [r, N]. r is a multiple
// of 8 and both bases multiples of 8 (the launcher checks), so 16-byte words never straddle
// an edge; slices past r load zeros. The main loop may end without its closing barrier
// (DBUF's early break), hence the barrier first.
  workgroupBarrier();
  let lav = p.lora_a_base / 8u;
  let lbv = p.lora_b_base / 8u;
  for (var kr = 0u; kr < p.lora_r; kr = kr + BK) {
    {
#include "gemm/gemm_sgmat_fetch_op.wgsl" (SRC=lora_a, REG=ra, PER=A_PER, V=A_V, ROWS_K=0, O0=m0, EXT=p.m, BASE=lav, KN=kr, KEND=p.lora_r, LDK=p.lora_r, NRM=0, NR=nra, NG=nga, NK=nka)
#include "gemm/gemm_sgmat_fetch_op.wgsl" (SRC=lora_b, REG=rb, PER=B_PER, V=B_V, ROWS_K=!TRANS_B, O0=n0, EXT=p.n, BASE=lbv, KN=kr, KEND=p.lora_r, LDK=p.lora_r, NRM=0, NR=nrb, NG=ngb, NK=nkb)
    }
#include "gemm/gemm_sgmat_stash.wgsl" (BUF=0)
    workgroupBarrier();
#include "gemm/gemm_sgmat_slice.wgsl" (BUF=0)
    workgroupBarrier();
  }
