import { defineParams } from '../../params.js';

/** gemm_common.wgsl's Params: every gemm kernel's uniform (the split-K reduce's too). */
export const GEMM_PARAMS = defineParams([
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['a_base', 'u32'],
  ['b_base', 'u32'],
  ['c_base', 'u32'],
  ['bias_base', 'u32'],
  ['y_base', 'u32'],
  ['a_bstride', 'u32'],
  ['b_bstride', 'u32'],
  ['alpha', 'f32'],
  ['beta', 'f32'],
  ['k_chunk', 'u32'],
]);

/** GEMM_PARAMS and the window fields of gemm_common.wgsl's `#if BF16_MMA` (gemm_bf16.ts). */
export const GEMM_BF16_PARAMS = defineParams([...GEMM_PARAMS, ['kf', 'u32'], ['ea_bstride', 'u32'], ['eb_bstride', 'u32']]);

/** GEMM_PARAMS and gemm_sgmat_lora.wgsl's fields: the rank and the element bases of lora_a and lora_b (lora_gemm.ts). */
export const GEMM_LORA_PARAMS = defineParams([...GEMM_PARAMS, ['lora_r', 'u32'], ['lora_a_base', 'u32'], ['lora_b_base', 'u32']]);

/** GEMM_PARAMS and gemm_gemv_rows' SWIGLU_ROWS fields: the bases of W_u and of the g, u outputs (mlp_gemv.ts). */
export const GEMM_GEMV_SWIGLU_PARAMS = defineParams([...GEMM_PARAMS, ['b2_base', 'u32'], ['g_base', 'u32'], ['u_base', 'u32']]);

/** GEMM_PARAMS and gemm_sgmat_vec's QKV fields: W_k's and W_v's first virtual columns, the bases of W_k, W_v and the k, v outputs (qkv_gemm.ts). */
export const GEMM_QKV_PARAMS = defineParams([...GEMM_PARAMS, ['n_k0', 'u32'], ['n_v0', 'u32'], ['b2_base', 'u32'], ['b3_base', 'u32'], ['y2_base', 'u32'], ['y3_base', 'u32']]);

/** GEMM_GEMV_SWIGLU_PARAMS and its NORM prologue's fields: the bases of γ, the residual, the sum and rstd, and eps. */
export const GEMM_GEMV_NORM_PARAMS = defineParams([...GEMM_GEMV_SWIGLU_PARAMS, ['gam_base', 'u32'], ['res_base', 'u32'], ['sum_base', 'u32'], ['rstd_base', 'u32'], ['eps', 'f32']]);

/** The element base of each operand's window (absent c or bias: 0). */
export interface GemmBases {
  a: { base: number };
  b: { base: number };
  c?: { base: number };
  bias?: { base: number };
  y: { base: number };
}

/** GEMM_PARAMS' values for an m×n×k problem on these windows (a and b advance by their strides per batch). */
export function gemmParamValues(e: { alpha: number; beta: number }, m: number, n: number, k: number, w: GemmBases, aStride: number, bStride: number, kChunk: number) {
  return {
    m,
    n,
    k,
    a_base: w.a.base,
    b_base: w.b.base,
    c_base: w.c?.base ?? 0,
    bias_base: w.bias?.base ?? 0,
    y_base: w.y.base,
    a_bstride: aStride,
    b_bstride: bStride,
    alpha: e.alpha,
    beta: e.beta,
    k_chunk: kChunk,
  };
}
