// gemm_sgmat_vec.wgsl, global → registers: this invocation's vectors of the K slice at
// depth KN (zeros past the operand's edges) into ra/rb (and, for a normalised operand,
// its rs, g and keep bits: gemm_sgmat_norm.wgsl). Inline in main, with lid the builtin
// itself, so the indices stay within ranges the compiler can bound.
{
#include "gemm/gemm_sgmat_fetch_op.wgsl" (SRC=a, REG=ra, PER=A_PER, V=A_V, ROWS_K=TRANS_A, O0=m0, EXT=p.m, BASE=av, KEND=k_end, LDK=p.k, NRM=NORM_A, NR=nra, NG=nga, NK=nka)
#if GU
#include "gemm/gemm_sgmat_fetch_gu.wgsl"
#elif QKV
#include "gemm/gemm_sgmat_fetch_qkv.wgsl"
#else
#include "gemm/gemm_sgmat_fetch_op.wgsl" (SRC=b, REG=rb, PER=B_PER, V=B_V, ROWS_K=!TRANS_B, O0=n0, EXT=p.n, BASE=bv, KEND=k_end, LDK=p.k, NRM=NORM_B, NR=nrb, NG=ngb, NK=nkb)
#endif
}
