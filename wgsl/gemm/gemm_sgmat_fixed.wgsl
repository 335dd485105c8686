// gemm_sgmat_vec.wgsl with FIXED_OFF, one staged K slice for subgroup S (a literal 0..7):
// every 16-deep step of the slice with constant fragment offsets (gemm_sgmat_fstep).
// Why constants: Dawn's robustness wraps each subgroupMatrixLoad whose offset it cannot
// prove in range in a branch and a function-scope temporary; with the workgroup arrays'
// sizes, the strides and the offsets all constant it proves them and emits the bare load.
#include "gemm/gemm_sgmat_fstep.wgsl" (KS=0)
#include "gemm/gemm_sgmat_fstep.wgsl" (KS=16)
#if DEEP_K
#include "gemm/gemm_sgmat_fstep.wgsl" (KS=32)
#include "gemm/gemm_sgmat_fstep.wgsl" (KS=48)
#endif
