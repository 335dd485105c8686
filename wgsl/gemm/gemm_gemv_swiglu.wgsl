// gemm_gemv_rows.wgsl's SWIGLU_ROWS variant (see its header): W_u's binding, the row source
// of the workgroup's rows 2 and 3, and the store of h = silu(g)·u (and g, u with WRITE_GU).
#include "common/sigmoid.wgsl"
@group(0) @binding(6) var<storage, read> b2: array<vec4<u32>>;
#define B23 b2
#define NCOL 2u
#if WRITE_GU
#include "common/tensor.wgsl" (NAME=gout, DT=Y_DT, BINDING=7, WRITE=1)
#include "common/tensor.wgsl" (NAME=uout, DT=Y_DT, BINDING=8, WRITE=1)
#endif

// After round q's 16 group sums of each row and slot are in red (slots 0, 1: g of columns
// c0, c0 + 1; slots 2, 3: their u): invocation t < 8 finishes row 4q + t / 2, column
// c0 + t % 2. g·σ(g) then ·u, as swiglu.wgsl and gemm_swiglu.wgsl evaluate it.
fn swiglu_store(q: u32, lid: u32, c0: u32, e0: u32) {
  let r = 4u * q + lid / 2u;
  let slot = lid % 2u;
  let col = c0 + slot;
  if (lid < 8u && r < MT && col < p.n) {
    var g = 0.0;
    var u = 0.0;
    for (var i = 0u; i < 16u; i = i + 1u) {
      let v = red[(lid / 2u) * WG + i];
      g = g + v[slot];
      u = u + v[slot + 2u];
    }
    let e = e0 + r * p.n + col;
    store_y(e, g * sigmoid_pair(g).x * u);
#if WRITE_GU
    store_gout(p.g_base + e - p.y_base, g);
    store_uout(p.u_base + e - p.y_base, u);
#endif
  }
}
