// gemm_sgmat_vec.wgsl, registers → workgroup buffer BUF (a literal). Inline in main: with
// lid the builtin and constant loop bounds every index is provably in range, so no store
// carries a clamp (a clamped index per half also hides that 8 halves are contiguous).
// A normalised operand (NORM_A / NORM_B) is normalised here (gemm_sgmat_norm.wgsl).
{
#include "gemm/gemm_sgmat_stash_op.wgsl" (REG=ra, ARR=As, PER=A_PER, V=A_V, LD=LDA, SZ=A_SZ, NRM=NORM_A, NR=nra, NG=nga, NK=nka)
#include "gemm/gemm_sgmat_stash_op.wgsl" (REG=rb, ARR=Bs, PER=B_PER, V=B_V, LD=LDB, SZ=B_SZ, NRM=NORM_B, NR=nrb, NG=ngb, NK=nkb)
}
