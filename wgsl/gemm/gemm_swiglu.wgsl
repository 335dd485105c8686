// gemm_tiled's SWIGLU variant (fused_mlp's gate and up projections in one pass over x):
// a second B operand b2 (W_u, bound at 6, the layout and dtype of b) is staged beside b
// and multiplied into a second set of accumulators from the same A tile, and the store
// writes y = silu(g)·u with g = epilogue(acc) (alpha, beta·c) and u = alpha·acc2 (+ beta·c2,
// HAS_C2, bound at 7, laid out like y): g and u never go to memory. silu(g)·u is
// swiglu.wgsl's arithmetic (common/sigmoid.wgsl, then (g·σ)·u): the bound in
// src/ops/fused_mlp/reference.ts counts its roundings. Reads b2 element by element (VEC = 0,
// launcher's choice); bias is not offered (the launcher passes none).
#include "common/sigmoid.wgsl"
#include "common/tensor.wgsl" (NAME=b2, DT=A_DT, BINDING=6, WRITE=0)
#if HAS_C2
#include "common/tensor.wgsl" (NAME=c2, DT=Y_DT, BINDING=7, WRITE=0)
#endif

struct SwigluParams {
  b2_base: u32,
  c2_base: u32,
}
// A small storage buffer (the Params uniform at binding 5 is gemm_common.wgsl's):
// SWIGLU_PARAMS in src/backend/webgpu/launchers/swiglu_gemm.ts.
@group(0) @binding(8) var<storage, read> sp: SwigluParams;

#include "gemm/gemm_tiled_run.wgsl" (NAME=b2, VECTOR=0)

// u's epilogue: alpha·acc2 (+ beta·c2), as epilogue() for g.
fn epilogue2(acc: f32, yi: u32) -> f32 {
  var v = p.alpha * acc;
#if HAS_C2
  v = v + p.beta * load_c2(sp.c2_base + yi - p.y_base);
#endif
  return v;
}

fn silu_mul(g: f32, u: f32) -> f32 {
  return g * sigmoid_pair(g).x * u;
}
