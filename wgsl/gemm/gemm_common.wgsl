// Shared building blocks of the gemm kernels: bindings, the Params uniform, the epilogue
// (alpha, beta·C, bias) and the row-run store. Defines: A_DT (dtype of a and b), Y_DT
// (dtype of y, c and bias), HAS_C, HAS_BIAS, VEC (1: the kernel binds a and b itself, as
// vectors; the launcher guarantees the alignment that needs).
//
// Element (i, j) of batch z of y is y[y_base + z·m·n + i·n + j]; c is laid out like y.
// K_RANGE (in main, after wid): k_begin … k_end, this workgroup's part of the K sum.
#if SPLIT_K
#define K_RANGE let k_begin = wid.z * p.k_chunk; let k_end = min(p.k, k_begin + p.k_chunk);
#else
#define K_RANGE let k_begin = 0u; let k_end = p.k;
#endif

#if !VEC
#include "common/tensor.wgsl" (NAME=a, DT=A_DT, BINDING=0, WRITE=0)
#include "common/tensor.wgsl" (NAME=b, DT=A_DT, BINDING=1, WRITE=0)
#endif
#if HAS_C
#include "common/tensor.wgsl" (NAME=c, DT=Y_DT, BINDING=2, WRITE=0)
#endif
#if HAS_BIAS
#include "common/tensor.wgsl" (NAME=bias, DT=Y_DT, BINDING=3, WRITE=0)
#endif
#include "common/tensor.wgsl" (NAME=y, DT=Y_DT, BINDING=4, WRITE=1)

struct Params {
  m: u32,
  n: u32,
  k: u32,
  a_base: u32,
  b_base: u32,
  c_base: u32,
  bias_base: u32,
  y_base: u32,
  // Elements between batches of a and b (0: broadcast over the batch).
  a_bstride: u32,
  b_bstride: u32,
  alpha: f32,
  beta: f32,
  // SPLIT_K: the K chunk of batch z (z·k_chunk … min(k, (z+1)·k_chunk)); y's batch z holds
  // that chunk's f32 partial sums (gemm_splitk_reduce.wgsl adds them up). Else unused.
  k_chunk: u32,
#if LORA_K
  // gemm_sgmat_lora.wgsl: the rank and the element bases of lora_a and lora_b
  // (GEMM_LORA_PARAMS in launchers/gemm_params.ts).
  lora_r: u32,
  lora_a_base: u32,
  lora_b_base: u32,
#endif
#if BF16_MMA
  // gemm_sgmat_bf16.wgsl: the K window and the entries between batches of the exps arrays
  // (0: the operand is broadcast over the batch).
  kf: u32,
  ea_bstride: u32,
  eb_bstride: u32,
#endif
#if QKV
  // gemm_sgmat_vec.wgsl's QKV: where W_k's and W_v's columns start in the virtual N (= N_q,
  // N_q + N_k), the element bases of W_k, W_v and of the k, v outputs (GEMM_QKV_PARAMS in
  // launchers/gemm_params.ts).
  n_k0: u32,
  n_v0: u32,
  b2_base: u32,
  b3_base: u32,
  y2_base: u32,
  y3_base: u32,
#elif SWIGLU_ROWS || GU
  // gemm_gemv_rows.wgsl's gate/up pair (and gemm_sgmat_vec.wgsl's GU): the element bases of
  // b2 (W_u) and, with WRITE_GU, of the g and u outputs (GEMM_GEMV_SWIGLU_PARAMS in
  // launchers/gemm_params.ts).
  b2_base: u32,
  g_base: u32,
  u_base: u32,
#if NORM
  // Its NORM prologue (gemm_gemv_norm.wgsl): the element bases of γ, res, the sum and rstd,
  // and eps (GEMM_GEMV_NORM_PARAMS).
  gam_base: u32,
  res_base: u32,
  sum_base: u32,
  rstd_base: u32,
  eps: f32,
#endif
#endif
}
@group(0) @binding(5) var<uniform> p: Params;

// y element from the f32 accumulator: ((alpha·acc + beta·c) + bias), one rounding per
// operation as the bound in src/ops/gemm/spec.ts counts. `yi` indexes y (and c).
fn epilogue(acc: f32, yi: u32, col: u32) -> f32 {
  var v = p.alpha * acc;
#if HAS_C
  v = v + p.beta * load_c(p.c_base + yi - p.y_base);
#endif
#if HAS_BIAS
  v = v + load_bias(p.bias_base + col);
#endif
  return v;
}

#include "gemm/gemm_run4.wgsl" (NAME=y)
// y's row-run store (gemm_run4.wgsl).
fn store_run4(e: u32, v: vec4<f32>, cnt: u32) {
  store_run4_y(e, v, cnt);
}
