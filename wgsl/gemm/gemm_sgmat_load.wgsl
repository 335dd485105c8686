// The subgroup-matrix gemms' K loop, first half: this slice of op(A) and op(B) into
// workgroup memory through PAIRS (gemm_sgmat_pairs.wgsl stages f16, gemm_sgmat8_pairs.wgsl
// f32), each operand in its own contiguous order.
#if TRANS_A
    let ar0 = k0;
    let ac0 = m0;
#else
    let ar0 = m0;
    let ac0 = k0;
#endif
#include "PAIRS" (ARR=As, PAIR=pair_a, R0=ar0, C0=ac0, ROWS=A_ROWS, COLS=A_COLS, LD=LDA, BASE=a0, LDG=a_ld, RLIM=a_r_lim, CLIM=a_c_lim)
#if TRANS_B
    let br0 = n0;
    let bc0 = k0;
#else
    let br0 = k0;
    let bc0 = n0;
#endif
#include "PAIRS" (ARR=Bs, PAIR=pair_b, R0=br0, C0=bc0, ROWS=B_ROWS, COLS=B_COLS, LD=LDB, BASE=b0, LDG=b_ld, RLIM=b_r_lim, CLIM=b_c_lim)
