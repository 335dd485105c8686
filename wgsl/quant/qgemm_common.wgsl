// Shared by the quantized_gemm kernels: the Params uniform, W's decode (quant/decode.wgsl,
// bindings 0–2), x at binding 3 as 16-byte words (load_x8: 8 elements from element e, a
// multiple of 8 — K is a multiple of 32 and x's window starts on a 64-byte boundary), y at
// binding 4 (16-bit outputs half-word atomic: neighbouring columns are other invocations').
// Element (i, j) of the chunk is y[y_base + i·ldy + j] and row n of W is chunk row n.
struct Params {
  m: u32,
  n: u32,
  k: u32,
  w_base: u32,
  row_units: u32,
  s_base: u32,
  group: u32,
  gpr: u32,
  x_base: u32,
  y_base: u32,
  ldy: u32,
}
@group(0) @binding(5) var<uniform> p: Params;

#include "quant/decode.wgsl"
#include "common/vec.wgsl" (DT=X_DT)
@group(0) @binding(3) var<storage, read> xq: array<vec4<u32>>;
#include "common/tensor.wgsl" (NAME=y, DT=Y_DT, BINDING=4, WRITE=1)

fn load_x8(e: u32) -> W8 {
#if X_DT == 0
  return W8(dec_lo(xq[e / 4u]), dec_lo(xq[e / 4u + 1u]));
#else
  let v = xq[e / 8u];
  return W8(dec_lo(v), dec_hi(v));
#endif
}
