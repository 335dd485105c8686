// gemm_sgmat_vec.wgsl, the K slice staged in buffer BUF (a literal): its 16-deep steps.
#include "gemm/gemm_sgmat_step.wgsl" (KS=0)
#if !SHALLOW_K
#include "gemm/gemm_sgmat_step.wgsl" (KS=16)
#endif
